// Arithmetic in the BN254 scalar field Fr (r = 0x30644e72…f0000001), the field of circom
// signals, of Poseidon and of Baby Jubjub's coordinates.
//
// Elements are four 64-bit limbs, little endian, in Montgomery form (R = 2^256), always
// fully reduced (< r) between operations.
#ifndef METERPROOF_FIELD_H
#define METERPROOF_FIELD_H

#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct {
  uint64_t v[4];
} fe;

static const uint64_t FR_MOD[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL,
                                   0x30644e72e131a029ULL};
static const uint64_t FR_INV = 0xc2e1f593efffffffULL;  // -r^-1 mod 2^64
static const fe FR_R2 = {{0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL,
                          0x0216d0b17f4e44a5ULL}};  // 2^512 mod r
static const fe FE_ZERO = {{0, 0, 0, 0}};

// Whether a canonical (non-Montgomery) 256-bit value is below r.
static inline int fe_words_in_field(const uint64_t a[4]) {
  for (int i = 3; i >= 0; i--) {
    if (a[i] != FR_MOD[i]) return a[i] < FR_MOD[i];
  }
  return 0;
}

// c, out ← a + b + c and b, out ← a − x − b, for carry and borrow bits.
#if defined(__x86_64__)
#include <immintrin.h>
// GCC turns unsigned __int128 arithmetic into long runs of moves and zeroed registers;
// the intrinsics give it plain `adc`/`sbb` chains, about half the instructions.
#define ADC(c, a, b, out) ((c) = _addcarry_u64((c), (a), (b), (unsigned long long *)&(out)))
#define SBB(b, a, x, out) ((b) = _subborrow_u64((b), (a), (x), (unsigned long long *)&(out)))
#else
#define ADC(c, a, b, out)                  \
  do {                                     \
    u128 sum_ = (u128)(a) + (b) + (c);     \
    (out) = (uint64_t)sum_;                \
    (c) = (unsigned char)(sum_ >> 64);     \
  } while (0)
#define SBB(b, a, x, out)                       \
  do {                                          \
    u128 diff_ = (u128)(a) - (x) - (b);         \
    (out) = (uint64_t)diff_;                    \
    (b) = (unsigned char)((diff_ >> 64) & 1);   \
  } while (0)
#endif

// (t0..t3) < 2r → (t0..t3) mod r into r, without branching on the value.
static inline void fe_store_reduced(fe *r, uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3) {
  uint64_t s0, s1, s2, s3;
  unsigned char b = 0;
  SBB(b, t0, FR_MOD[0], s0);
  SBB(b, t1, FR_MOD[1], s1);
  SBB(b, t2, FR_MOD[2], s2);
  SBB(b, t3, FR_MOD[3], s3);
  const uint64_t keep = 0 - (uint64_t)b;  // all ones when t < r
  r->v[0] = (t0 & keep) | (s0 & ~keep);
  r->v[1] = (t1 & keep) | (s1 & ~keep);
  r->v[2] = (t2 & keep) | (s2 & ~keep);
  r->v[3] = (t3 & keep) | (s3 & ~keep);
}

static inline void fe_add(fe *r, const fe *a, const fe *b) {
  // a, b < r < 2^254: the sum fits in 256 bits and is below 2r.
  uint64_t t0, t1, t2, t3;
  unsigned char c = 0;
  ADC(c, a->v[0], b->v[0], t0);
  ADC(c, a->v[1], b->v[1], t1);
  ADC(c, a->v[2], b->v[2], t2);
  ADC(c, a->v[3], b->v[3], t3);
  fe_store_reduced(r, t0, t1, t2, t3);
}

static inline void fe_sub(fe *r, const fe *a, const fe *b) {
  uint64_t t0, t1, t2, t3;
  unsigned char borrow = 0, c = 0;
  SBB(borrow, a->v[0], b->v[0], t0);
  SBB(borrow, a->v[1], b->v[1], t1);
  SBB(borrow, a->v[2], b->v[2], t2);
  SBB(borrow, a->v[3], b->v[3], t3);
  const uint64_t mask = 0 - (uint64_t)borrow;  // add r back when a < b
  ADC(c, t0, FR_MOD[0] & mask, r->v[0]);
  ADC(c, t1, FR_MOD[1] & mask, r->v[1]);
  ADC(c, t2, FR_MOD[2] & mask, r->v[2]);
  ADC(c, t3, FR_MOD[3] & mask, r->v[3]);
}

// t (5 limbs) += x · (b0..b3), then t += m · r with m chosen to zero t0, then t >>= 64.
#define FE_MUL_STEP(x)                                                        \
  do {                                                                        \
    unsigned char c = 0;                                                      \
    u128 p0 = (u128)(x) * b0, p1 = (u128)(x) * b1, p2 = (u128)(x) * b2,       \
         p3 = (u128)(x) * b3;                                                 \
    ADC(c, t0, (uint64_t)p0, t0);                                             \
    ADC(c, t1, (uint64_t)p1, t1);                                             \
    ADC(c, t2, (uint64_t)p2, t2);                                             \
    ADC(c, t3, (uint64_t)p3, t3);                                             \
    t4 = c;                                                                   \
    c = 0;                                                                    \
    ADC(c, t1, (uint64_t)(p0 >> 64), t1);                                     \
    ADC(c, t2, (uint64_t)(p1 >> 64), t2);                                     \
    ADC(c, t3, (uint64_t)(p2 >> 64), t3);                                     \
    ADC(c, t4, (uint64_t)(p3 >> 64), t4);                                     \
    uint64_t m = t0 * FR_INV;                                                 \
    u128 q0 = (u128)m * FR_MOD[0], q1 = (u128)m * FR_MOD[1],                  \
         q2 = (u128)m * FR_MOD[2], q3 = (u128)m * FR_MOD[3];                  \
    uint64_t z;                                                               \
    c = 0;                                                                    \
    ADC(c, t0, (uint64_t)q0, z);                                              \
    ADC(c, t1, (uint64_t)q1, t1);                                             \
    ADC(c, t2, (uint64_t)q2, t2);                                             \
    ADC(c, t3, (uint64_t)q3, t3);                                             \
    ADC(c, t4, 0, t4);                                                        \
    c = 0;                                                                    \
    ADC(c, t1, (uint64_t)(q0 >> 64), t0);                                     \
    ADC(c, t2, (uint64_t)(q1 >> 64), t1);                                     \
    ADC(c, t3, (uint64_t)(q2 >> 64), t2);                                     \
    ADC(c, t4, (uint64_t)(q3 >> 64), t3);                                     \
    (void)z;                                                                  \
  } while (0)

// Montgomery product a·b/R mod r (CIOS). r's top limb is below 2^62, so t stays below 2r
// and fits four limbs between steps; t4 only holds a step's carry.
static inline void fe_mul(fe *r, const fe *a, const fe *b) {
  const uint64_t b0 = b->v[0], b1 = b->v[1], b2 = b->v[2], b3 = b->v[3];
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4;
  FE_MUL_STEP(a->v[0]);
  FE_MUL_STEP(a->v[1]);
  FE_MUL_STEP(a->v[2]);
  FE_MUL_STEP(a->v[3]);
  fe_store_reduced(r, t0, t1, t2, t3);
}

// The full 512-bit product a·b (no reduction), little endian.
static inline void fe_mul_wide(uint64_t out[8], const fe *a, const fe *b) {
  memset(out, 0, 8 * sizeof *out);
  for (int i = 0; i < 4; i++) {
    const uint64_t x = a->v[i];
    u128 p0 = (u128)x * b->v[0], p1 = (u128)x * b->v[1], p2 = (u128)x * b->v[2], p3 = (u128)x * b->v[3];
    unsigned char c = 0;
    ADC(c, out[i], (uint64_t)p0, out[i]);
    ADC(c, out[i + 1], (uint64_t)p1, out[i + 1]);
    ADC(c, out[i + 2], (uint64_t)p2, out[i + 2]);
    ADC(c, out[i + 3], (uint64_t)p3, out[i + 3]);
    out[i + 4] = c;
    c = 0;
    ADC(c, out[i + 1], (uint64_t)(p0 >> 64), out[i + 1]);
    ADC(c, out[i + 2], (uint64_t)(p1 >> 64), out[i + 2]);
    ADC(c, out[i + 3], (uint64_t)(p2 >> 64), out[i + 3]);
    ADC(c, out[i + 4], (uint64_t)(p3 >> 64), out[i + 4]);
  }
}

// A sum of up to 17 unreduced products: nine limbs, as 17·r² < 2^513.
typedef struct {
  uint64_t v[9];
} fe_acc;

// acc += a·b, reduced only once at the end (fe_acc_reduce): a dot product of t terms costs
// t half-products and one reduction instead of t full Montgomery products.
static inline void fe_acc_mul_add(fe_acc *acc, const fe *a, const fe *b) {
  uint64_t p[8];
  fe_mul_wide(p, a, b);
  unsigned char c = 0;
  for (int i = 0; i < 8; i++) ADC(c, acc->v[i], p[i], acc->v[i]);
  acc->v[8] += c;
}

// r ← acc / R mod r (Montgomery reduction), for acc below 17·r².
static inline void fe_acc_reduce(fe *r, fe_acc *acc) {
  uint64_t *v = acc->v;
  // Bring the upper half below r first (at most three subtractions of r·2^256), so that
  // acc < r·2^256 and the reduction below ends under 2r.
  while (v[8] || !fe_words_in_field(&v[4])) {
    unsigned char b = 0;
    SBB(b, v[4], FR_MOD[0], v[4]);
    SBB(b, v[5], FR_MOD[1], v[5]);
    SBB(b, v[6], FR_MOD[2], v[6]);
    SBB(b, v[7], FR_MOD[3], v[7]);
    v[8] -= b;
  }
  for (int i = 0; i < 4; i++) {
    const uint64_t m = v[i] * FR_INV;
    u128 q0 = (u128)m * FR_MOD[0], q1 = (u128)m * FR_MOD[1], q2 = (u128)m * FR_MOD[2], q3 = (u128)m * FR_MOD[3];
    unsigned char c = 0;
    ADC(c, v[i], (uint64_t)q0, v[i]);
    ADC(c, v[i + 1], (uint64_t)q1, v[i + 1]);
    ADC(c, v[i + 2], (uint64_t)q2, v[i + 2]);
    ADC(c, v[i + 3], (uint64_t)q3, v[i + 3]);
    for (int k = i + 4; k < 8; k++) ADC(c, v[k], 0, v[k]);
    c = 0;
    ADC(c, v[i + 1], (uint64_t)(q0 >> 64), v[i + 1]);
    ADC(c, v[i + 2], (uint64_t)(q1 >> 64), v[i + 2]);
    ADC(c, v[i + 3], (uint64_t)(q2 >> 64), v[i + 3]);
    ADC(c, v[i + 4], (uint64_t)(q3 >> 64), v[i + 4]);
    for (int k = i + 5; k < 8; k++) ADC(c, v[k], 0, v[k]);
  }
  fe_store_reduced(r, v[4], v[5], v[6], v[7]);
}

static inline void fe_from_words(fe *r, const uint64_t w[4]) {
  fe x;
  memcpy(x.v, w, sizeof x.v);
  fe_mul(r, &x, &FR_R2);
}

static inline void fe_to_words(uint64_t w[4], const fe *a) {
  static const fe one = {{1, 0, 0, 0}};
  fe x;
  fe_mul(&x, a, &one);
  memcpy(w, x.v, sizeof x.v);
}

static inline int fe_equal(const fe *a, const fe *b) { return memcmp(a->v, b->v, sizeof a->v) == 0; }

// a^(r−2) = 1/a for a ≠ 0 (Fermat); 0 for a = 0. Square-and-multiply over r − 2's bits.
static inline void fe_inv(fe *r, const fe *a) {
  static const uint64_t e[4] = {0x43e1f593efffffffULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL,
                                0x30644e72e131a029ULL};  // r − 2
  static const uint64_t one[4] = {1, 0, 0, 0};
  fe acc;
  fe_from_words(&acc, one);
  for (int i = 255; i >= 0; i--) {
    fe_mul(&acc, &acc, &acc);
    if ((e[i / 64] >> (i % 64)) & 1) fe_mul(&acc, &acc, a);
  }
  *r = acc;
}

#endif
