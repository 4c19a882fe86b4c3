// Poseidon over the BN254 scalar field with circomlib's parameters, as a Node-API addon.
//
// The auditor hashes every record twice (a 9-input and a 2-input Poseidon); circomlibjs'
// WebAssembly Poseidon spends about 240 µs on that, this code about a fifth of it. The
// round constants and matrices are not compiled in: the loader passes circomlibjs'
// optimized constants (`poseidon_constants_opt.json`) to `setup` once per width, so both
// implementations use the very same parameters, and the tests compare them on random input.
//
// Field elements are four 64-bit limbs, little endian, in Montgomery form (R = 2^256).
// The rounds follow circomlibjs' poseidon_opt.js (sparse partial rounds, after Neptune).

#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct {
  uint64_t v[4];
} fe;

static const uint64_t MOD[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL,
                                0x30644e72e131a029ULL};
static const uint64_t INV = 0xc2e1f593efffffffULL;  // -MOD^-1 mod 2^64
static const fe R2 = {{0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL,
                       0x0216d0b17f4e44a5ULL}};  // 2^512 mod MOD
static const fe ONE_CANONICAL = {{1, 0, 0, 0}};

// a >= MOD?
static inline int geq_mod(const uint64_t a[4]) {
  for (int i = 3; i >= 0; i--) {
    if (a[i] != MOD[i]) return a[i] > MOD[i];
  }
  return 1;
}

static inline void sub_mod_once(uint64_t a[4]) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 d = (u128)a[i] - MOD[i] - borrow;
    a[i] = (uint64_t)d;
    borrow = (uint64_t)(d >> 64) & 1;
  }
}

static inline void fe_add(fe *r, const fe *a, const fe *b) {
  uint64_t carry = 0;
  for (int i = 0; i < 4; i++) {
    u128 s = (u128)a->v[i] + b->v[i] + carry;
    r->v[i] = (uint64_t)s;
    carry = (uint64_t)(s >> 64);
  }
  // a, b < MOD < 2^254, so the sum fits in 256 bits and one subtraction reduces it.
  if (geq_mod(r->v)) sub_mod_once(r->v);
}

// Montgomery product a * b / 2^256 mod MOD: CIOS without the extra carry words, valid
// because MOD's top limb is below 2^63 - 1 (the sum stays below 2 * MOD).
static inline void fe_mul(fe *r, const fe *a, const fe *b) {
  uint64_t t[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4; i++) {
    u128 x = (u128)a->v[0] * b->v[i] + t[0];
    uint64_t A = (uint64_t)(x >> 64);
    t[0] = (uint64_t)x;
    uint64_t m = t[0] * INV;
    u128 y = (u128)m * MOD[0] + t[0];
    uint64_t C = (uint64_t)(y >> 64);
    for (int j = 1; j < 4; j++) {
      x = (u128)a->v[j] * b->v[i] + t[j] + A;
      A = (uint64_t)(x >> 64);
      t[j] = (uint64_t)x;
      y = (u128)m * MOD[j] + t[j] + C;
      C = (uint64_t)(y >> 64);
      t[j - 1] = (uint64_t)y;
    }
    t[3] = C + A;
  }
  if (geq_mod(t)) sub_mod_once(t);
  memcpy(r->v, t, sizeof t);
}

static inline void fe_pow5(fe *a) {
  fe a2, a4;
  fe_mul(&a2, a, a);
  fe_mul(&a4, &a2, &a2);
  fe_mul(a, a, &a4);
}

#define MAX_T 17
#define ROUNDS_F 8

typedef struct {
  int t;
  int rounds_p;
  fe *C;  // (ROUNDS_F * t + rounds_p) constants, compressed as in poseidon_opt.js
  fe *S;  // rounds_p * (2t - 1) sparse-matrix entries
  fe *M;  // t * t, transposed: M[i * t + j] = M_js[j][i]
  fe *P;  // t * t, transposed likewise
} params;

static params *WIDTHS[MAX_T + 1];
static pthread_mutex_t WIDTHS_LOCK = PTHREAD_MUTEX_INITIALIZER;

// state = mat * state with the transposed layout above.
static inline void mix(fe *state, const fe *mat, int t) {
  fe out[MAX_T];
  for (int i = 0; i < t; i++) {
    fe acc = {{0, 0, 0, 0}};
    const fe *row = mat + i * t;
    for (int j = 0; j < t; j++) {
      fe prod;
      fe_mul(&prod, &row[j], &state[j]);
      fe_add(&acc, &acc, &prod);
    }
    out[i] = acc;
  }
  memcpy(state, out, sizeof(fe) * t);
}

static inline void full_round(fe *state, const params *p, const fe *constants, const fe *mat) {
  int t = p->t;
  for (int i = 0; i < t; i++) {
    fe_pow5(&state[i]);
    if (constants) fe_add(&state[i], &state[i], &constants[i]);
  }
  mix(state, mat, t);
}

// inputs: t - 1 elements in Montgomery form; returns state[0] in Montgomery form.
static void poseidon_mont(const params *p, const fe *inputs, fe *out) {
  int t = p->t;
  int half = ROUNDS_F / 2;
  fe state[MAX_T];
  memset(&state[0], 0, sizeof(fe));
  memcpy(&state[1], inputs, sizeof(fe) * (t - 1));
  for (int i = 0; i < t; i++) fe_add(&state[i], &state[i], &p->C[i]);
  for (int r = 0; r < half - 1; r++) full_round(state, p, &p->C[(r + 1) * t], p->M);
  full_round(state, p, &p->C[half * t], p->P);
  const fe *pc = &p->C[(half + 1) * t];
  for (int r = 0; r < p->rounds_p; r++) {
    fe_pow5(&state[0]);
    fe_add(&state[0], &state[0], &pc[r]);
    const fe *s = &p->S[(2 * t - 1) * r];
    fe s0, prod;
    fe_mul(&s0, &s[0], &state[0]);
    for (int j = 1; j < t; j++) {
      fe_mul(&prod, &s[j], &state[j]);
      fe_add(&s0, &s0, &prod);
    }
    for (int k = 1; k < t; k++) {
      fe_mul(&prod, &state[0], &s[t + k - 1]);
      fe_add(&state[k], &state[k], &prod);
    }
    state[0] = s0;
  }
  const fe *tail = &p->C[(half + 1) * t + p->rounds_p];
  for (int r = 0; r < half - 1; r++) full_round(state, p, &tail[r * t], p->M);
  full_round(state, p, NULL, p->M);
  *out = state[0];
}

// ---- Node-API glue ----

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, NULL, "meterproof poseidon: " #call " failed"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

// Reads a Buffer of 32-byte little-endian canonical field elements into Montgomery form.
static int read_elements(napi_env env, napi_value buf, size_t count, fe *out) {
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, buf, &data, &len) != napi_ok || len != count * 32) return 0;
  const uint8_t *bytes = data;
  for (size_t k = 0; k < count; k++) {
    fe x;
    for (int i = 0; i < 4; i++) {
      uint64_t w = 0;
      for (int b = 7; b >= 0; b--) w = (w << 8) | bytes[k * 32 + i * 8 + b];
      x.v[i] = w;
    }
    if (geq_mod(x.v)) return 0;
    fe_mul(&out[k], &x, &R2);
  }
  return 1;
}

// setup(t, roundsP, C, S, M, P): registers one width; a second call for it is a no-op.
static napi_value js_setup(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6) return throw_range(env, "setup(t, roundsP, C, S, M, P) takes 6 arguments");
  int32_t t, rounds_p;
  CHECK(napi_get_value_int32(env, argv[0], &t));
  CHECK(napi_get_value_int32(env, argv[1], &rounds_p));
  if (t < 2 || t > MAX_T) return throw_range(env, "t must be between 2 and 17");
  if (rounds_p < 1 || rounds_p > 200) return throw_range(env, "roundsP must be between 1 and 200");
  pthread_mutex_lock(&WIDTHS_LOCK);
  if (WIDTHS[t]) {
    pthread_mutex_unlock(&WIDTHS_LOCK);
    return NULL;
  }
  params *p = calloc(1, sizeof *p);
  size_t nc = (size_t)ROUNDS_F * t + rounds_p, ns = (size_t)rounds_p * (2 * t - 1), nm = (size_t)t * t;
  p->t = t;
  p->rounds_p = rounds_p;
  p->C = malloc(sizeof(fe) * nc);
  p->S = malloc(sizeof(fe) * ns);
  fe *m = malloc(sizeof(fe) * nm), *pm = malloc(sizeof(fe) * nm);
  p->M = malloc(sizeof(fe) * nm);
  p->P = malloc(sizeof(fe) * nm);
  int ok = p->C && p->S && m && pm && p->M && p->P && read_elements(env, argv[2], nc, p->C) &&
           read_elements(env, argv[3], ns, p->S) && read_elements(env, argv[4], nm, m) &&
           read_elements(env, argv[5], nm, pm);
  if (ok) {
    for (int i = 0; i < t; i++) {
      for (int j = 0; j < t; j++) {
        p->M[i * t + j] = m[j * t + i];
        p->P[i * t + j] = pm[j * t + i];
      }
    }
    WIDTHS[t] = p;
  } else {
    free(p->C), free(p->S), free(p->M), free(p->P), free(p);
  }
  free(m), free(pm);
  pthread_mutex_unlock(&WIDTHS_LOCK);
  if (!ok) return throw_range(env, "setup: constants must be Buffers of 32-byte little-endian field elements of the expected counts");
  return NULL;
}

static const params *width_for(napi_env env, size_t arity) {
  const params *p = arity >= 1 && arity < MAX_T ? WIDTHS[arity + 1] : NULL;
  if (!p) napi_throw_range_error(env, NULL, "poseidon: no constants were set up for this number of inputs");
  return p;
}

static int read_bigint(napi_env env, napi_value v, fe *out) {
  int sign = 0;
  size_t words = 4;
  fe x = {{0, 0, 0, 0}};
  if (napi_get_value_bigint_words(env, v, &sign, &words, x.v) != napi_ok) {
    napi_throw_type_error(env, NULL, "poseidon: every input must be a bigint");
    return 0;
  }
  if (sign || words > 4 || geq_mod(x.v)) {
    napi_throw_range_error(env, NULL, "poseidon: every input must be a field element (0 <= x < r)");
    return 0;
  }
  fe_mul(out, &x, &R2);
  return 1;
}

static napi_value to_bigint(napi_env env, const fe *mont) {
  fe x;
  fe_mul(&x, mont, &ONE_CANONICAL);
  napi_value result;
  CHECK(napi_create_bigint_words(env, 0, 4, x.v, &result));
  return result;
}

// hash(inputs: bigint[]): bigint
static napi_value js_hash(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arr;
  CHECK(napi_get_cb_info(env, info, &argc, &arr, NULL, NULL));
  uint32_t n;
  if (argc != 1 || napi_get_array_length(env, arr, &n) != napi_ok)
    return throw_range(env, "poseidon: hash takes one array of bigints");
  const params *p = width_for(env, n);
  if (!p) return NULL;
  fe in[MAX_T];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    CHECK(napi_get_element(env, arr, i, &v));
    if (!read_bigint(env, v, &in[i])) return NULL;
  }
  fe out;
  poseidon_mont(p, in, &out);
  return to_bigint(env, &out);
}

typedef struct {
  const params *p;
  const fe *in;
  fe *out;
  size_t from, to;
} batch;

static void *run_batch(void *arg) {
  batch *b = arg;
  size_t arity = b->p->t - 1;
  for (size_t k = b->from; k < b->to; k++) poseidon_mont(b->p, &b->in[k * arity], &b->out[k]);
  return NULL;
}

// hashMany(arity, inputs: bigint[], threads): bigint[] — inputs holds the hashes' inputs one
// after another; the hashes are spread over `threads` threads.
static napi_value js_hash_many(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) return throw_range(env, "poseidon: hashMany(arity, inputs, threads) takes 3 arguments");
  uint32_t arity, len, threads;
  CHECK(napi_get_value_uint32(env, argv[0], &arity));
  CHECK(napi_get_value_uint32(env, argv[2], &threads));
  CHECK(napi_get_array_length(env, argv[1], &len));
  const params *p = width_for(env, arity);
  if (!p) return NULL;
  if (len % arity) return throw_range(env, "poseidon: hashMany inputs must be a multiple of arity long");
  size_t count = len / arity;
  fe *in = malloc(sizeof(fe) * (len ? len : 1)), *out = malloc(sizeof(fe) * (count ? count : 1));
  if (!in || !out) {
    free(in), free(out);
    napi_throw_error(env, NULL, "poseidon: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < len; i++) {
    napi_value v;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || !read_bigint(env, v, &in[i])) {
      free(in), free(out);
      return NULL;
    }
  }
  if (threads < 1) threads = 1;
  if (threads > 64) threads = 64;
  if ((size_t)threads > count) threads = count ? (uint32_t)count : 1;
  batch jobs[64];
  pthread_t ids[64];
  size_t per = (count + threads - 1) / threads;
  int started[64] = {0};
  for (uint32_t k = 0; k < threads; k++) {
    size_t from = k * per < count ? k * per : count, to = from + per < count ? from + per : count;
    jobs[k] = (batch){p, in, out, from, to};
    // The calling thread takes the first share; a share whose thread fails to start runs here.
    if (k > 0) started[k] = pthread_create(&ids[k], NULL, run_batch, &jobs[k]) == 0;
    if (k > 0 && !started[k]) run_batch(&jobs[k]);
  }
  run_batch(&jobs[0]);
  for (uint32_t k = 1; k < threads; k++) {
    if (started[k]) pthread_join(ids[k], NULL);
  }
  napi_value result;
  if (napi_create_array_with_length(env, count, &result) != napi_ok) {
    free(in), free(out);
    return NULL;
  }
  for (size_t k = 0; k < count; k++) {
    napi_value h = to_bigint(env, &out[k]);
    if (!h || napi_set_element(env, result, (uint32_t)k, h) != napi_ok) {
      free(in), free(out);
      return NULL;
    }
  }
  free(in), free(out);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"setup", NULL, js_setup, NULL, NULL, NULL, napi_default, NULL},
      {"hash", NULL, js_hash, NULL, NULL, NULL, napi_default, NULL},
      {"hashMany", NULL, js_hash_many, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
