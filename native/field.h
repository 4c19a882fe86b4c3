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

// (t0..t3) < 2r → (t0..t3) mod r into r, without branching on the value.
static inline void fe_store_reduced(fe *r, uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3) {
  u128 d = (u128)t0 - FR_MOD[0];
  uint64_t s0 = (uint64_t)d;
  d = (u128)t1 - FR_MOD[1] - ((uint64_t)(d >> 64) & 1);
  uint64_t s1 = (uint64_t)d;
  d = (u128)t2 - FR_MOD[2] - ((uint64_t)(d >> 64) & 1);
  uint64_t s2 = (uint64_t)d;
  d = (u128)t3 - FR_MOD[3] - ((uint64_t)(d >> 64) & 1);
  uint64_t s3 = (uint64_t)d;
  uint64_t keep = 0 - ((uint64_t)(d >> 64) & 1);  // all ones when t < r
  r->v[0] = (t0 & keep) | (s0 & ~keep);
  r->v[1] = (t1 & keep) | (s1 & ~keep);
  r->v[2] = (t2 & keep) | (s2 & ~keep);
  r->v[3] = (t3 & keep) | (s3 & ~keep);
}

static inline void fe_add(fe *r, const fe *a, const fe *b) {
  // a, b < r < 2^254: the sum fits in 256 bits and is below 2r.
  u128 s = (u128)a->v[0] + b->v[0];
  uint64_t t0 = (uint64_t)s;
  s = (u128)a->v[1] + b->v[1] + (uint64_t)(s >> 64);
  uint64_t t1 = (uint64_t)s;
  s = (u128)a->v[2] + b->v[2] + (uint64_t)(s >> 64);
  uint64_t t2 = (uint64_t)s;
  uint64_t t3 = a->v[3] + b->v[3] + (uint64_t)(s >> 64);
  fe_store_reduced(r, t0, t1, t2, t3);
}

static inline void fe_sub(fe *r, const fe *a, const fe *b) {
  u128 d = (u128)a->v[0] - b->v[0];
  uint64_t t0 = (uint64_t)d;
  d = (u128)a->v[1] - b->v[1] - ((uint64_t)(d >> 64) & 1);
  uint64_t t1 = (uint64_t)d;
  d = (u128)a->v[2] - b->v[2] - ((uint64_t)(d >> 64) & 1);
  uint64_t t2 = (uint64_t)d;
  d = (u128)a->v[3] - b->v[3] - ((uint64_t)(d >> 64) & 1);
  uint64_t t3 = (uint64_t)d;
  uint64_t mask = 0 - ((uint64_t)(d >> 64) & 1);  // add r back when a < b
  u128 s = (u128)t0 + (FR_MOD[0] & mask);
  r->v[0] = (uint64_t)s;
  s = (u128)t1 + (FR_MOD[1] & mask) + (uint64_t)(s >> 64);
  r->v[1] = (uint64_t)s;
  s = (u128)t2 + (FR_MOD[2] & mask) + (uint64_t)(s >> 64);
  r->v[2] = (uint64_t)s;
  r->v[3] = t3 + (FR_MOD[3] & mask) + (uint64_t)(s >> 64);
}

// One CIOS step of the Montgomery product: t ← (t + a·bi + m·r) / 2^64.
#define FE_MUL_STEP(bi)                                   \
  do {                                                    \
    u128 x = (u128)a0 * (bi) + t0;                        \
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;  \
    uint64_t m = lo * FR_INV;                             \
    u128 y = (u128)m * FR_MOD[0] + lo;                    \
    uint64_t c = (uint64_t)(y >> 64);                     \
    x = (u128)a1 * (bi) + t1 + hi;                        \
    hi = (uint64_t)(x >> 64);                             \
    y = (u128)m * FR_MOD[1] + (uint64_t)x + c;            \
    c = (uint64_t)(y >> 64);                              \
    t0 = (uint64_t)y;                                     \
    x = (u128)a2 * (bi) + t2 + hi;                        \
    hi = (uint64_t)(x >> 64);                             \
    y = (u128)m * FR_MOD[2] + (uint64_t)x + c;            \
    c = (uint64_t)(y >> 64);                              \
    t1 = (uint64_t)y;                                     \
    x = (u128)a3 * (bi) + t3 + hi;                        \
    hi = (uint64_t)(x >> 64);                             \
    y = (u128)m * FR_MOD[3] + (uint64_t)x + c;            \
    c = (uint64_t)(y >> 64);                              \
    t2 = (uint64_t)y;                                     \
    t3 = c + hi;                                          \
  } while (0)

// Montgomery product a·b/R mod r: CIOS without the extra carry words, valid because r's
// top limb is below 2^63 − 1 (the running value stays below 2r).
static inline void fe_mul(fe *r, const fe *a, const fe *b) {
  const uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
  const uint64_t b0 = b->v[0], b1 = b->v[1], b2 = b->v[2], b3 = b->v[3];
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  FE_MUL_STEP(b0);
  FE_MUL_STEP(b1);
  FE_MUL_STEP(b2);
  FE_MUL_STEP(b3);
  fe_store_reduced(r, t0, t1, t2, t3);
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

#endif
