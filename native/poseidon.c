// Poseidon over Fr with circomlib's parameters. The round constants and matrices are not
// compiled in: the loader passes circomlibjs' optimized constants to poseidon_setup once
// per width, so this code and circomlibjs run on the very same parameters.
#include "poseidon.h"

#include <pthread.h>
#include <stdlib.h>

#define ROUNDS_F 8

struct poseidon_params {
  int t;
  int rounds_p;
  fe *c;  // ROUNDS_F·t + rounds_p constants, compressed as in poseidon_opt.js
  fe *s;  // rounds_p·(2t − 1) sparse-matrix entries
  fe *m;  // t·t, transposed for row access: m[i·t + j] = M[j][i]
  fe *p;  // t·t, transposed likewise
};

static poseidon_params *widths[POSEIDON_MAX_T + 1];
static pthread_mutex_t widths_lock = PTHREAD_MUTEX_INITIALIZER;

static int read_constants(const uint8_t *bytes, size_t count, fe *out) {
  for (size_t k = 0; k < count; k++) {
    uint64_t w[4];
    for (int i = 0; i < 4; i++) {
      uint64_t x = 0;
      for (int b = 7; b >= 0; b--) x = (x << 8) | bytes[k * 32 + i * 8 + b];
      w[i] = x;
    }
    if (!fe_words_in_field(w)) return 0;
    fe_from_words(&out[k], w);
  }
  return 1;
}

static void transpose(fe *dst, const fe *src, int t) {
  for (int i = 0; i < t; i++)
    for (int j = 0; j < t; j++) dst[i * t + j] = src[j * t + i];
}

static void free_params(poseidon_params *p) {
  if (!p) return;
  free(p->c), free(p->s), free(p->m), free(p->p), free(p);
}

int poseidon_setup(int t, int rounds_p, const uint8_t *c, const uint8_t *s, const uint8_t *m, const uint8_t *p) {
  if (t < 2 || t > POSEIDON_MAX_T || rounds_p < 1) return 0;
  size_t nc = (size_t)ROUNDS_F * t + rounds_p, ns = (size_t)rounds_p * (2 * t - 1), nm = (size_t)t * t;
  poseidon_params *params = calloc(1, sizeof *params);
  fe *mt = malloc(sizeof(fe) * nm), *pt = malloc(sizeof(fe) * nm);
  int ok = params && mt && pt;
  if (ok) {
    params->t = t;
    params->rounds_p = rounds_p;
    params->c = malloc(sizeof(fe) * nc);
    params->s = malloc(sizeof(fe) * ns);
    params->m = malloc(sizeof(fe) * nm);
    params->p = malloc(sizeof(fe) * nm);
    ok = params->c && params->s && params->m && params->p && read_constants(c, nc, params->c) &&
         read_constants(s, ns, params->s) && read_constants(m, nm, mt) && read_constants(p, nm, pt);
  }
  if (ok) {
    transpose(params->m, mt, t);
    transpose(params->p, pt, t);
    pthread_mutex_lock(&widths_lock);
    if (!widths[t]) widths[t] = params, params = NULL;
    pthread_mutex_unlock(&widths_lock);
  }
  free_params(params);
  free(mt), free(pt);
  return ok;
}

const poseidon_params *poseidon_width(size_t arity) {
  if (arity < 1 || arity >= POSEIDON_MAX_T) return NULL;
  pthread_mutex_lock(&widths_lock);
  const poseidon_params *p = widths[arity + 1];
  pthread_mutex_unlock(&widths_lock);
  return p;
}

static inline void pow5(fe *a) {
  fe a2, a4;
  fe_mul(&a2, a, a);
  fe_mul(&a4, &a2, &a2);
  fe_mul(a, a, &a4);
}

// The rounds are written for a width `t` that the compiler can see as a constant: each
// width the trace format uses gets its own unrolled copy (see poseidon_hash).
#define INLINE static inline __attribute__((always_inline))

// state ← mat · state, with mat in the transposed layout above; each row is one dot
// product reduced once.
INLINE void mix(fe *state, const fe *mat, int t) {
  fe out[POSEIDON_MAX_T];
  for (int i = 0; i < t; i++) {
    const fe *row = mat + i * t;
    fe_acc acc = {{0}};
    for (int j = 0; j < t; j++) fe_acc_mul_add(&acc, &row[j], &state[j]);
    fe_acc_reduce(&out[i], &acc);
  }
  memcpy(state, out, sizeof(fe) * t);
}

// S-box on every element, then the next round's constants (if any), then the matrix.
INLINE void full_round(fe *state, int t, const fe *constants, const fe *mat) {
  for (int i = 0; i < t; i++) {
    pow5(&state[i]);
    if (constants) fe_add(&state[i], &state[i], &constants[i]);
  }
  mix(state, mat, t);
}

INLINE void hash_width(const poseidon_params *params, const fe *inputs, fe *out, const int t) {
  const int half = ROUNDS_F / 2;
  const fe *c = params->c;
  fe state[POSEIDON_MAX_T];
  state[0] = FE_ZERO;
  memcpy(&state[1], inputs, sizeof(fe) * (t - 1));
  for (int i = 0; i < t; i++) fe_add(&state[i], &state[i], &c[i]);
  for (int r = 0; r < half - 1; r++) full_round(state, t, &c[(r + 1) * t], params->m);
  full_round(state, t, &c[half * t], params->p);
  const fe *partial = &c[(half + 1) * t];
  for (int r = 0; r < params->rounds_p; r++) {
    pow5(&state[0]);
    fe_add(&state[0], &state[0], &partial[r]);
    const fe *s = &params->s[(2 * t - 1) * r];
    fe s0, prod;
    fe_acc acc = {{0}};
    for (int j = 0; j < t; j++) fe_acc_mul_add(&acc, &s[j], &state[j]);
    fe_acc_reduce(&s0, &acc);
    for (int k = 1; k < t; k++) {
      fe_mul(&prod, &state[0], &s[t + k - 1]);
      fe_add(&state[k], &state[k], &prod);
    }
    state[0] = s0;
  }
  const fe *tail = &partial[params->rounds_p];
  for (int r = 0; r < half - 1; r++) full_round(state, t, &tail[r * t], params->m);
  full_round(state, t, NULL, params->m);
  *out = state[0];
}

void poseidon_hash(const poseidon_params *params, const fe *inputs, fe *out) {
  switch (params->t) {
    case 3:  // chain heads, worker key hashes
      hash_width(params, inputs, out, 3);
      break;
    case 6:  // EdDSA-Poseidon's challenge
      hash_width(params, inputs, out, 6);
      break;
    case 10:  // record hashes
      hash_width(params, inputs, out, 10);
      break;
    default:
      hash_width(params, inputs, out, params->t);
  }
}
