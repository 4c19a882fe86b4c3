// Node-API glue for meterproof's native hashing and signature checks (loaded by
// trace/native.ts). Every entry point checks its arguments and throws a RangeError or
// TypeError that names the rule; nothing here keeps JavaScript values between calls.
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "babyjub.h"
#include "poseidon.h"

#define MAX_THREADS 64
#define SCALAR_WORDS 8
static const char SCALAR_RULE[] = "babyjub: scalars must be bigints with 0 <= k < 2^512";

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "meterproof native: " #call " failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value fail_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

// A bigint 0 <= v < 2^(64·capacity) into little-endian words.
static int read_words(napi_env env, napi_value v, uint64_t *words, size_t capacity, const char *what) {
  int sign = 0;
  size_t count = capacity;
  memset(words, 0, capacity * sizeof *words);
  if (napi_get_value_bigint_words(env, v, &sign, &count, words) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  if (sign || count > capacity) {
    napi_throw_range_error(env, NULL, what);
    return 0;
  }
  return 1;
}

// A bigint field element (0 <= v < r) into Montgomery form.
static int read_fe(napi_env env, napi_value v, fe *out) {
  static const char *rule = "input is not a field element (0 <= x < r)";
  uint64_t w[4];
  if (!read_words(env, v, w, 4, rule)) return 0;
  if (!fe_words_in_field(w)) {
    napi_throw_range_error(env, NULL, rule);
    return 0;
  }
  fe_from_words(out, w);
  return 1;
}

static napi_value make_bigint(napi_env env, const fe *mont) {
  uint64_t w[4];
  fe_to_words(w, mont);
  napi_value result;
  CHECK(napi_create_bigint_words(env, 0, 4, w, &result));
  return result;
}

// setup(t, roundsP, C, S, M, P): Buffers of 32-byte little-endian constants.
static napi_value js_setup(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6) return fail_range(env, "setup(t, roundsP, C, S, M, P) takes 6 arguments");
  int32_t t, rounds_p;
  CHECK(napi_get_value_int32(env, argv[0], &t));
  CHECK(napi_get_value_int32(env, argv[1], &rounds_p));
  if (t < 2 || t > POSEIDON_MAX_T) return fail_range(env, "setup: t must be between 2 and 17");
  if (rounds_p < 1 || rounds_p > 200) return fail_range(env, "setup: roundsP must be between 1 and 200");
  size_t expected[4] = {(size_t)8 * t + rounds_p, (size_t)rounds_p * (2 * t - 1), (size_t)t * t, (size_t)t * t};
  void *data[4];
  for (int i = 0; i < 4; i++) {
    size_t len;
    if (napi_get_buffer_info(env, argv[2 + i], &data[i], &len) != napi_ok || len != expected[i] * 32)
      return fail_range(env, "setup: C, S, M and P must be Buffers of 32 bytes per constant, in the expected counts");
  }
  if (!poseidon_setup(t, rounds_p, data[0], data[1], data[2], data[3]))
    return fail_range(env, "setup: every constant must be a field element");
  return NULL;
}

static const poseidon_params *width_or_throw(napi_env env, size_t arity) {
  const poseidon_params *p = poseidon_width(arity);
  if (!p) napi_throw_range_error(env, NULL, "poseidon: no constants were set up for this number of inputs");
  return p;
}

// hash(inputs: bigint[]): bigint
static napi_value js_hash(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arr;
  uint32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, &arr, NULL, NULL));
  if (argc != 1 || napi_get_array_length(env, arr, &n) != napi_ok)
    return fail_range(env, "poseidon: hash takes one array of bigints");
  const poseidon_params *p = width_or_throw(env, n);
  if (!p) return NULL;
  fe in[POSEIDON_MAX_T], out;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    CHECK(napi_get_element(env, arr, i, &v));
    if (!read_fe(env, v, &in[i])) return NULL;
  }
  poseidon_hash(p, in, &out);
  return make_bigint(env, &out);
}

typedef struct {
  const poseidon_params *params;
  size_t arity;
  const fe *in;
  fe *out;
  size_t from, to;
} share;

static void *hash_share(void *arg) {
  share *s = arg;
  for (size_t k = s->from; k < s->to; k++) poseidon_hash(s->params, &s->in[k * s->arity], &s->out[k]);
  return NULL;
}

// Hashes count inputs of `arity` on up to `threads` threads (the caller's among them).
static void hash_in_threads(const poseidon_params *p, size_t arity, const fe *in, fe *out, size_t count,
                            uint32_t threads) {
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads > count) threads = count ? (uint32_t)count : 1;
  share shares[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  size_t per = (count + threads - 1) / threads;
  for (uint32_t k = 0; k < threads; k++) {
    size_t from = k * per < count ? k * per : count;
    size_t to = from + per < count ? from + per : count;
    shares[k] = (share){p, arity, in, out, from, to};
    // A share whose thread fails to start runs on the calling thread instead.
    if (k > 0) started[k] = pthread_create(&ids[k], NULL, hash_share, &shares[k]) == 0;
    if (k > 0 && !started[k]) hash_share(&shares[k]);
  }
  hash_share(&shares[0]);
  for (uint32_t k = 1; k < threads; k++)
    if (started[k]) pthread_join(ids[k], NULL);
}

// A batch of hashes: its inputs read from JavaScript, its outputs, and the promise it settles.
typedef struct {
  const poseidon_params *params;
  size_t arity, count;
  uint32_t threads;
  fe *in, *out;
  napi_async_work work;
  napi_deferred deferred;
} batch_job;

static void free_job(batch_job *job) {
  if (!job) return;
  free(job->in), free(job->out), free(job);
}

// Reads (arity, inputs: bigint[], threads); returns NULL with an exception pending on bad input.
static batch_job *read_job(napi_env env, napi_callback_info info, const char *name) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t arity, len, threads;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_value_uint32(env, argv[0], &arity) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &threads) != napi_ok ||
      napi_get_array_length(env, argv[1], &len) != napi_ok) {
    napi_throw_type_error(env, NULL, name);
    return NULL;
  }
  const poseidon_params *p = width_or_throw(env, arity);
  if (!p) return NULL;
  if (len % arity) {
    napi_throw_range_error(env, NULL, "poseidon: hashManyAsync's inputs must be a multiple of arity long");
    return NULL;
  }
  batch_job *job = calloc(1, sizeof *job);
  if (job) {
    job->params = p, job->arity = arity, job->count = len / arity, job->threads = threads;
    job->in = malloc(sizeof(fe) * (len ? len : 1));
    job->out = malloc(sizeof(fe) * (job->count ? job->count : 1));
  }
  if (!job || !job->in || !job->out) {
    free_job(job);
    napi_throw_error(env, NULL, "poseidon: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < len; i++) {
    napi_value v;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || !read_fe(env, v, &job->in[i])) {
      free_job(job);
      return NULL;
    }
  }
  return job;
}

static napi_value job_result(napi_env env, const batch_job *job) {
  napi_value arr;
  CHECK(napi_create_array_with_length(env, job->count, &arr));
  for (size_t k = 0; k < job->count; k++) {
    napi_value h = make_bigint(env, &job->out[k]);
    if (!h) return NULL;
    CHECK(napi_set_element(env, arr, (uint32_t)k, h));
  }
  return arr;
}

static void job_execute(napi_env env, void *data) {
  (void)env;
  batch_job *job = data;
  hash_in_threads(job->params, job->arity, job->in, job->out, job->count, job->threads);
}

static void job_complete(napi_env env, napi_status status, void *data) {
  batch_job *job = data;
  napi_value result = status == napi_ok ? job_result(env, job) : NULL;
  if (result) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value error = NULL, message;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &error);
    if (!error && napi_create_string_utf8(env, "poseidon: hashManyAsync failed", NAPI_AUTO_LENGTH, &message) == napi_ok)
      napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

// hashManyAsync(arity, inputs: bigint[], threads): Promise<bigint[]> — the inputs of the
// hashes one after another, hashed on `threads` threads off the JavaScript thread, so the
// caller can parse the next records meanwhile.
static napi_value js_hash_many_async(napi_env env, napi_callback_info info) {
  batch_job *job = read_job(env, info, "poseidon: hashManyAsync(arity, inputs: bigint[], threads)");
  if (!job) return NULL;
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "meterproof:poseidon", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, job_execute, job_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free_job(job);
    napi_throw_error(env, NULL, "poseidon: could not start hashManyAsync");
    return NULL;
  }
  return promise;
}

// doubleMulEquals(k1, p1x, p1y, k2, p2x, p2y, qx, qy): whether k1·P1 + k2·P2 = Q on Baby
// Jubjub; scalars below 2^512, points affine and on the curve (checked by the caller).
static napi_value js_double_mul_equals(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8) return fail_range(env, "babyjub: doubleMulEquals takes 8 arguments");
  uint64_t k1[SCALAR_WORDS], k2[SCALAR_WORDS];
  fe p1[2], p2[2], q[2];
  if (!read_words(env, argv[0], k1, SCALAR_WORDS, SCALAR_RULE) || !read_fe(env, argv[1], &p1[0]) ||
      !read_fe(env, argv[2], &p1[1]) || !read_words(env, argv[3], k2, SCALAR_WORDS, SCALAR_RULE) ||
      !read_fe(env, argv[4], &p2[0]) || !read_fe(env, argv[5], &p2[1]) || !read_fe(env, argv[6], &q[0]) ||
      !read_fe(env, argv[7], &q[1]))
    return NULL;
  napi_value result;
  CHECK(napi_get_boolean(env, babyjub_double_mul_equals(k1, p1, k2, p2, q, SCALAR_WORDS), &result));
  return result;
}

// mul(k, px, py): [x, y] = k·P on Baby Jubjub; scalar below 2^512, P affine and on the curve
// (checked by the caller).
static napi_value js_mul(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) return fail_range(env, "babyjub: mul takes 3 arguments");
  uint64_t k[SCALAR_WORDS];
  fe p[2], q[2];
  if (!read_words(env, argv[0], k, SCALAR_WORDS, SCALAR_RULE) ||
      !read_fe(env, argv[1], &p[0]) || !read_fe(env, argv[2], &p[1]))
    return NULL;
  babyjub_mul(k, p, q, SCALAR_WORDS);
  napi_value result, x, y;
  CHECK(napi_create_array_with_length(env, 2, &result));
  if (!(x = make_bigint(env, &q[0])) || !(y = make_bigint(env, &q[1]))) return NULL;
  CHECK(napi_set_element(env, result, 0, x));
  CHECK(napi_set_element(env, result, 1, y));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"setup", NULL, js_setup, NULL, NULL, NULL, napi_default, NULL},
      {"hash", NULL, js_hash, NULL, NULL, NULL, napi_default, NULL},
      {"hashManyAsync", NULL, js_hash_many_async, NULL, NULL, NULL, napi_default, NULL},
      {"doubleMulEquals", NULL, js_double_mul_equals, NULL, NULL, NULL, napi_default, NULL},
      {"mul", NULL, js_mul, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
