/*
 * Hand-written per-sample training loops: the C peer of fastnn's benchmarks.
 *
 * Ordinary, single-threaded C for three fixed networks, written the way one
 * would write them by hand to go fast, so that the benchmark has a realistic
 * upper bound next to fastnn and JAX:
 *
 *   sgd_784_40_10   784-40-10 ReLU, softmax cross-entropy, plain SGD, batch 1
 *   adam_784_40_10  the same network with Adam (torch's formulas)
 *   sgd_2_10_1      2-10-1 ReLU, mean squared error, plain SGD, batch 1
 *
 * The parameters come in fastnn's flat layout (W1 row-major (fan_in, fan_out),
 * b1, W2, b2, ...) and leave in it; the rows are trained in the order given.
 * The loss conventions are fastnn's (kernels/losses.py): cross-entropy from
 * the logits with log-sum-exp, delta softmax - t; MSE 0.5 (y - t)^2, delta
 * y - t. Every function returns the number of steps completed: all of them,
 * or the index of the first step whose loss is not finite (its update is not
 * applied), as fastnn does; NaN must therefore survive the arithmetic, so the
 * file is compiled without -ffast-math.
 *
 * Where the time goes in 784-40-10 is streaming W1 (784 x 40 floats) once per
 * sample. So the update of W1 for step s and the first layer's forward pass
 * for step s + 1 are one loop: the 40 running sums of the next sample stay in
 * registers (two 16-lane and one 8-lane vector) while each W1 row is loaded,
 * updated, stored and multiplied into them. Only rows where the current or the
 * next image has a non-zero pixel are visited, through a list of those columns
 * built per sample without branches (AVX-512 compress where available).
 * W2 is kept transposed (10 x 40) during the call, so that the backward pass
 * and the update of the second layer are vector operations on rows of 40.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE__)
#include <immintrin.h>
#endif

/* 16 and 8 float lanes (GCC/Clang vector extensions: zmm/ymm registers where
 * the machine has them, pairs of narrower ones where it does not). */
typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef int32_t i16 __attribute__((vector_size(64)));
typedef int32_t i8 __attribute__((vector_size(32)));

static inline v16 load16(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
static inline v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }
static inline void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }

/* ReLU that lets NaN through (max(NaN, 0) would hide a diverged run). */
static inline v16 relu16(v16 a) { return (v16)((i16)a & ~(a < 0)); }
static inline v8 relu8(v8 a) { return (v8)((i8)a & ~(a < 0)); }
/* a where the mask (from a comparison) is set, else 0. */
static inline v16 keep16(v16 a, i16 mask) { return (v16)((i16)a & mask); }
static inline v8 keep8(v8 a, i8 mask) { return (v8)((i8)a & mask); }

static inline float hsum16(v16 a)
{
#if defined(__AVX512F__)
    return _mm512_reduce_add_ps((__m512)a);
#else
    float s = 0;
    for (int k = 0; k < 16; k++) s += a[k];
    return s;
#endif
}

static inline float hsum8(v8 a)
{
    float s = 0;
    for (int k = 0; k < 8; k++) s += a[k];
    return s;
}

/* ------------------------------------------------------------------ 784-40-10 */

enum { IN = 784, HID = 40, OUT = 10 };
/* Offsets in fastnn's flat layout. */
enum { W1_AT = 0, B1_AT = IN * HID, W2_AT = B1_AT + HID, B2_AT = W2_AT + HID * OUT };

/*
 * The 40 hidden units live in registers as one `hidden` value. During a call
 * the parameters are kept in a private layout (copied in and out once per
 * call, a few microseconds): rows of HS floats, 64-byte aligned, W2 transposed.
 *
 * Default: rows padded to 48 floats, three 16-lane vectors; the 8 padding
 * lanes hold zeros and stay zero. With -DNO_PAD: rows of 40, five 8-lane
 * vectors. Padding pays on AVX-512 machines: a 160-byte row starts mid cache
 * line every other row, and 16-lane loads and stores of those rows straddle
 * two lines.
 */
#if defined(NO_PAD)
enum { HS = 40 };
typedef struct { v8 a, b, c, d, e; } hidden;
#define HIDDEN_MAP(op) (hidden){op(a), op(b), op(c), op(d), op(e)}
static inline hidden hload(const float *p)
{
    return (hidden){load8(p), load8(p + 8), load8(p + 16), load8(p + 24), load8(p + 32)};
}
static inline void hstore(float *p, hidden h)
{
    store8(p, h.a); store8(p + 8, h.b); store8(p + 16, h.c); store8(p + 24, h.d);
    store8(p + 32, h.e);
}
#define RELU_(f) relu8(x.f)
#define WHERE_(f) keep8(x.f, h.f > 0)
static inline float hdot(hidden x, hidden y)
{
    return hsum8(x.a * y.a + x.b * y.b + x.c * y.c + x.d * y.d + x.e * y.e);
}
#else
enum { HS = 48 };
typedef struct { v16 a, b, c; } hidden;
#define HIDDEN_MAP(op) (hidden){op(a), op(b), op(c)}
static inline hidden hload(const float *p) { return (hidden){load16(p), load16(p + 16), load16(p + 32)}; }
static inline void hstore(float *p, hidden h) { store16(p, h.a); store16(p + 16, h.b); store16(p + 32, h.c); }
#define RELU_(f) relu16(x.f)
#define WHERE_(f) keep16(x.f, h.f > 0)
static inline float hdot(hidden x, hidden y) { return hsum16(x.a * y.a + x.b * y.b + x.c * y.c); }
#endif

#define FMA_(f) acc.f + s * x.f
#define FMS_(f) acc.f - s * x.f
#define SCALE_(f) s * x.f
#define ADD_(f) x.f + y.f
static inline hidden hrelu(hidden x) { return HIDDEN_MAP(RELU_); }
static inline hidden hwhere(hidden x, hidden h) { return HIDDEN_MAP(WHERE_); }  /* x where h > 0 */
static inline hidden hfma(hidden acc, float s, hidden x) { return HIDDEN_MAP(FMA_); }  /* acc + s x */
static inline hidden hfms(hidden acc, float s, hidden x) { return HIDDEN_MAP(FMS_); }  /* acc - s x */
static inline hidden hscale(float s, hidden x) { return HIDDEN_MAP(SCALE_); }
static inline hidden hadd(hidden x, hidden y) { return HIDDEN_MAP(ADD_); }
static inline hidden hzero(void) { hidden x; memset(&x, 0, sizeof x); return x; }

/* One set of parameters (or of Adam moments) in the private layout. */
typedef struct {
    float w1[IN * HS];   /* row i: the weights from input i to the hidden units */
    float b1[HS];
    float w2t[OUT * HS]; /* row j: the weights from the hidden units to output j */
    float b2[16];
} params;

static params *unpack(const float *flat)
{
    params *p = aligned_alloc(64, sizeof(params));
    if (p == NULL) return NULL;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < IN; i++) memcpy(p->w1 + i * HS, flat + W1_AT + i * HID, HID * sizeof(float));
    memcpy(p->b1, flat + B1_AT, HID * sizeof(float));
    for (int k = 0; k < HID; k++)
        for (int j = 0; j < OUT; j++) p->w2t[j * HS + k] = flat[W2_AT + k * OUT + j];
    memcpy(p->b2, flat + B2_AT, OUT * sizeof(float));
    return p;
}

static void pack(params *p, float *flat)
{
    for (int i = 0; i < IN; i++) memcpy(flat + W1_AT + i * HID, p->w1 + i * HS, HID * sizeof(float));
    memcpy(flat + B1_AT, p->b1, HID * sizeof(float));
    for (int k = 0; k < HID; k++)
        for (int j = 0; j < OUT; j++) flat[W2_AT + k * OUT + j] = p->w2t[j * HS + k];
    memcpy(flat + B2_AT, p->b2, OUT * sizeof(float));
    free(p);
}

/* The columns i where x[i] != 0 or y[i] != 0, in order, into idx; returns how
 * many. idx needs room for IN + 16 entries (whole vectors are stored). */
static int nonzero_columns(const float *x, const float *y, int32_t *idx)
{
    int count = 0;
#if defined(__AVX512F__)
    __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sixteen = _mm512_set1_epi32(16);
    const __m512 zero = _mm512_setzero_ps();
    for (int i = 0; i < IN; i += 16) {  /* 784 = 49 x 16 */
        __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), zero, _CMP_NEQ_UQ)
                      | _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), zero, _CMP_NEQ_UQ);
        /* Compress in a register, then one full store: the memory form of
         * vpcompressd is microcoded and slow on AMD. */
        _mm512_storeu_si512((void *)(idx + count), _mm512_maskz_compress_epi32(m, lane));
        count += __builtin_popcount(m);
        lane = _mm512_add_epi32(lane, sixteen);
    }
#else
    for (int i = 0; i < IN; i++) {
        idx[count] = i;
        count += (x[i] != 0) | (y[i] != 0);
    }
#endif
    return count;
}

/* Logits z -> dz = softmax(z) - onehot(label); returns the cross-entropy. */
static inline float softmax_delta(const float *z, int label, float *dz)
{
    float top = z[0];
    for (int j = 1; j < OUT; j++) top = z[j] > top ? z[j] : top;
    float e[OUT], total = 0;
    for (int j = 0; j < OUT; j++) {
        e[j] = expf(z[j] - top);
        total += e[j];
    }
    for (int j = 0; j < OUT; j++) dz[j] = e[j] / total;
    dz[label] -= 1.0f;
    return top + logf(total) - z[label];
}

/* The second layer for one sample, from the hidden pre-activations `pre`:
 * the hidden activations h, the output delta dz and the hidden delta dh
 * (through ReLU', with the current W2); returns the loss. */
static inline float second_layer(hidden pre, const params *p, int label, hidden *h_out,
                                 float *dz, hidden *dh_out)
{
    hidden h = hrelu(pre);
    float z[OUT];
    for (int j = 0; j < OUT; j++) z[j] = p->b2[j] + hdot(h, hload(p->w2t + j * HS));
    float loss = softmax_delta(z, label, dz);
    hidden dh = hzero();
    for (int j = 0; j < OUT; j++) dh = hfma(dh, dz[j], hload(p->w2t + j * HS));
    *h_out = h;
    *dh_out = hwhere(dh, h);
    return loss;
}

/* First-layer pre-activations b1 + x W1 of one row, zero pixels skipped. */
static hidden first_layer(const params *p, const float *x, int32_t *idx)
{
    int count = nonzero_columns(x, x, idx);
    hidden acc = hload(p->b1);
    for (int k = 0; k < count; k++) acc = hfma(acc, x[idx[k]], hload(p->w1 + idx[k] * HS));
    return acc;
}

static const float ZERO_ROW[IN];

/*
 * Plain SGD, batch 1, over the n rows of X (n x 784) with labels in 0..9.
 * theta: fastnn's flat parameters (31,810 floats), updated in place.
 * loss_sum: the sum of the step losses (each before its update).
 * Returns the steps completed, or -1 when memory ran out.
 */
long sgd_784_40_10(float *theta, const float *X, const int32_t *labels, long n, float lr,
                   double *loss_sum)
{
    params *p = unpack(theta);
    if (p == NULL) return -1;
    int32_t idx[IN + 16];
    double total = 0;
    long s = 0;
    hidden pre = n > 0 ? first_layer(p, X, idx) : hzero();
    for (; s < n; s++) {
        const float *x = X + s * IN;
        const float *next = s + 1 < n ? x + IN : ZERO_ROW;
        hidden h, dh;
        float dz[OUT];
        float loss = second_layer(pre, p, labels[s], &h, dz, &dh);
        if (!isfinite(loss)) break;
        total += loss;
        hidden rate = hscale(lr, h);  /* lr * h_k, then times dz_j: fastnn's products */
        for (int j = 0; j < OUT; j++) {
            hstore(p->w2t + j * HS, hfms(hload(p->w2t + j * HS), dz[j], rate));
            p->b2[j] -= lr * dz[j];
        }
        hidden b = hfms(hload(p->b1), lr, dh);
        hstore(p->b1, b);
        /* W1 -= lr x dh^T, fused with the next sample's b1 + x_next W1. Two sets
         * of running sums (even and odd rows) halve the chain of dependent adds. */
        int count = nonzero_columns(x, next, idx);
        hidden acc0 = b, acc1 = hzero();
        int k = 0;
        for (; k + 1 < count; k += 2) {
            int i = idx[k], j = idx[k + 1];
            float *wi = p->w1 + i * HS, *wj = p->w1 + j * HS;
            hidden u = hfms(hload(wi), lr * x[i], dh);
            hidden v = hfms(hload(wj), lr * x[j], dh);
            hstore(wi, u);
            hstore(wj, v);
            acc0 = hfma(acc0, next[i], u);
            acc1 = hfma(acc1, next[j], v);
        }
        if (k < count) {
            int i = idx[k];
            hidden u = hfms(hload(p->w1 + i * HS), lr * x[i], dh);
            hstore(p->w1 + i * HS, u);
            acc0 = hfma(acc0, next[i], u);
        }
        pre = hadd(acc0, acc1);
    }
    pack(p, theta);
    *loss_sum = total;
    return s;
}

/* Flush subnormal results and inputs to zero for the duration of a call, as
 * fastnn's Adam flushes its state: a moment decaying towards zero would
 * otherwise cross the subnormal range, which is slow on x86. */
#if defined(__SSE__)
#define FLUSH_BEGIN unsigned saved_csr = _mm_getcsr(); _mm_setcsr(saved_csr | 0x8040);
#define FLUSH_END _mm_setcsr(saved_csr);
#else
#define FLUSH_BEGIN
#define FLUSH_END
#endif

typedef struct {
    float beta1, beta2, keep1, keep2, step, inv_c2, eps;
} adam_t;

/* Adam on one row of the hidden width: moments and step for gradient g,
 * theta -= step * m / (sqrt(v) / c2 + eps) with 1 / c2 taken once per step.
 * Returns the new weights. */
static inline hidden adam_row(float *w, float *m, float *v, hidden g, const adam_t *a)
{
    float gs[HS], out[HS];
    hstore(gs, g);
    for (int k = 0; k < HS; k++) {
        float mk = a->beta1 * m[k] + a->keep1 * gs[k];
        float vk = a->beta2 * v[k] + a->keep2 * gs[k] * gs[k];
        m[k] = mk;
        v[k] = vk;
        out[k] = w[k] - a->step * mk / (sqrtf(vk) * a->inv_c2 + a->eps);
        w[k] = out[k];
    }
    return hload(out);
}

/*
 * Adam (torch's formulas, no weight decay, no AMSGrad), batch 1, over the n
 * rows of X. theta, m, v: fastnn's flat layout; *t: steps taken so far
 * (fastnn's step counter), advanced by the steps completed. Returns the steps
 * completed, or -1 when memory ran out.
 *
 * One pass over W1 and its moments per sample: the gradient x_i dh is formed
 * on the fly, and the next sample's first-layer forward pass uses each
 * updated row while it is in registers. Every row is visited (the moments
 * decay even where the gradient is zero).
 */
long adam_784_40_10(float *theta, float *m, float *v, int64_t *t, const float *X,
                    const int32_t *labels, long n, float lr, float beta1, float beta2, float eps,
                    double *loss_sum)
{
    params *p = unpack(theta), *pm = unpack(m), *pv = unpack(v);
    if (p == NULL || pm == NULL || pv == NULL) {
        free(p); free(pm); free(pv);
        return -1;
    }
    FLUSH_BEGIN
    int32_t idx[IN + 16];
    adam_t a = {beta1, beta2, 1 - beta1, 1 - beta2, 0, 0, eps};
    double total = 0;
    long s = 0;
    hidden pre = n > 0 ? first_layer(p, X, idx) : hzero();
    for (; s < n; s++) {
        const float *x = X + s * IN;
        const float *next = s + 1 < n ? x + IN : ZERO_ROW;
        hidden h, dh;
        float dz[OUT];
        float loss = second_layer(pre, p, labels[s], &h, dz, &dh);
        if (!isfinite(loss)) break;
        total += loss;
        /* The bias corrections in double, as fastnn and torch compute them. */
        int64_t step_t = *t + s + 1;
        a.step = (float)(lr / (1.0 - pow(beta1, (double)step_t)));
        a.inv_c2 = (float)(1.0 / sqrt(1.0 - pow(beta2, (double)step_t)));
        for (int j = 0; j < OUT; j++) {
            adam_row(p->w2t + j * HS, pm->w2t + j * HS, pv->w2t + j * HS, hscale(dz[j], h), &a);
            float mk = beta1 * pm->b2[j] + a.keep1 * dz[j];
            float vk = beta2 * pv->b2[j] + a.keep2 * dz[j] * dz[j];
            pm->b2[j] = mk;
            pv->b2[j] = vk;
            p->b2[j] -= a.step * mk / (sqrtf(vk) * a.inv_c2 + eps);
        }
        hidden acc = adam_row(p->b1, pm->b1, pv->b1, dh, &a);
        /* W1: gradient, moments, update and the next forward pass in one sweep. */
        for (int i = 0; i < IN; i++) {
            hidden w = adam_row(p->w1 + i * HS, pm->w1 + i * HS, pv->w1 + i * HS,
                                hscale(x[i], dh), &a);
            acc = hfma(acc, next[i], w);
        }
        pre = acc;
    }
    FLUSH_END
    pack(p, theta);
    pack(pm, m);
    pack(pv, v);
    *t += s;
    *loss_sum = total;
    return s;
}

/* -------------------------------------------------------------------- 2-10-1 */

/*
 * Plain SGD, batch 1, for 2-10-1 ReLU with MSE over the n rows of X (n x 2)
 * and targets y. The 41 parameters live in four 16-lane registers (10 lanes
 * used, the rest zero and staying zero) for the whole epoch.
 */
long sgd_2_10_1(float *theta, const float *X, const float *y, long n, float lr, double *loss_sum)
{
    enum { H = 10, W1A = 0, W1B = H, B1 = 2 * H, W2 = 3 * H, B2 = 4 * H };
    float buffer[16] = {0};
    v16 w1a, w1b, b1, w2;
    memcpy(buffer, theta + W1A, H * sizeof(float)); w1a = load16(buffer);
    memcpy(buffer, theta + W1B, H * sizeof(float)); w1b = load16(buffer);
    memcpy(buffer, theta + B1, H * sizeof(float)); b1 = load16(buffer);
    memcpy(buffer, theta + W2, H * sizeof(float)); w2 = load16(buffer);
    float b2 = theta[B2];
    double total = 0;
    long s = 0;
    for (; s < n; s++) {
        const float x0 = X[2 * s], x1 = X[2 * s + 1];
        v16 u = b1 + x0 * w1a + x1 * w1b;  /* fastnn's order: b, + x0 W, + x1 W */
        v16 h = relu16(u);
        float out = b2 + hsum16(h * w2);
        float d = out - y[s];
        float loss = 0.5f * d * d;
        if (!isfinite(loss)) break;
        total += loss;
        v16 dh = keep16(w2 * d, h > 0);  /* with the old W2 */
        w2 -= (lr * h) * d;
        b2 -= lr * d;
        w1a -= (lr * x0) * dh;
        w1b -= (lr * x1) * dh;
        b1 -= lr * dh;
    }
    store16(buffer, w1a); memcpy(theta + W1A, buffer, H * sizeof(float));
    store16(buffer, w1b); memcpy(theta + W1B, buffer, H * sizeof(float));
    store16(buffer, b1); memcpy(theta + B1, buffer, H * sizeof(float));
    store16(buffer, w2); memcpy(theta + W2, buffer, H * sizeof(float));
    theta[B2] = b2;
    *loss_sum = total;
    return s;
}
