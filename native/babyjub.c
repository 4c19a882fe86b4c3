// Baby Jubjub point arithmetic in extended twisted Edwards coordinates (X:Y:Z:T), with
// x = X/Z, y = Y/Z, x·y = T/Z; the formulas are the same as trace/babyjub.ts.
#include "babyjub.h"

typedef struct {
  fe x, y, z, t;
} point;

static fe small(uint64_t v) {
  fe r;
  uint64_t w[4] = {v, 0, 0, 0};
  fe_from_words(&r, w);
  return r;
}

// add-2008-hwcd (complete for Baby Jubjub, whose d is not a square).
static void point_add(point *r, const point *p, const point *q, const fe *a_coef, const fe *d_coef) {
  fe a, b, c, d, e, f, g, h, u, v;
  fe_mul(&a, &p->x, &q->x);
  fe_mul(&b, &p->y, &q->y);
  fe_mul(&u, d_coef, &p->t);
  fe_mul(&c, &u, &q->t);
  fe_mul(&d, &p->z, &q->z);
  fe_add(&u, &p->x, &p->y);
  fe_add(&v, &q->x, &q->y);
  fe_mul(&e, &u, &v);
  fe_sub(&e, &e, &a);
  fe_sub(&e, &e, &b);
  fe_sub(&f, &d, &c);
  fe_add(&g, &d, &c);
  fe_mul(&u, a_coef, &a);
  fe_sub(&h, &b, &u);
  fe_mul(&r->x, &e, &f);
  fe_mul(&r->y, &g, &h);
  fe_mul(&r->z, &f, &g);
  fe_mul(&r->t, &e, &h);
}

// dbl-2008-hwcd.
static void point_double(point *r, const point *p, const fe *a_coef) {
  fe a, b, c, d, e, f, g, h, u;
  fe_mul(&a, &p->x, &p->x);
  fe_mul(&b, &p->y, &p->y);
  fe_mul(&c, &p->z, &p->z);
  fe_add(&c, &c, &c);
  fe_mul(&d, a_coef, &a);
  fe_add(&u, &p->x, &p->y);
  fe_mul(&e, &u, &u);
  fe_sub(&e, &e, &a);
  fe_sub(&e, &e, &b);
  fe_add(&g, &d, &b);
  fe_sub(&f, &g, &c);
  fe_sub(&h, &d, &b);
  fe_mul(&r->x, &e, &f);
  fe_mul(&r->y, &g, &h);
  fe_mul(&r->z, &f, &g);
  fe_mul(&r->t, &e, &h);
}

static void from_affine(point *r, const fe xy[2]) {
  static const uint64_t one[4] = {1, 0, 0, 0};
  r->x = xy[0];
  r->y = xy[1];
  fe_from_words(&r->z, one);
  fe_mul(&r->t, &xy[0], &xy[1]);
}

static int bit(const uint64_t *k, int i) { return (int)((k[i / 64] >> (i % 64)) & 1); }

static void identity(point *r) {
  static const uint64_t one[4] = {1, 0, 0, 0};
  r->x = FE_ZERO;
  fe_from_words(&r->y, one);
  r->z = r->y;
  r->t = FE_ZERO;
}

static int top_bit(const uint64_t *k1, const uint64_t *k2, int words) {
  int top = words * 64 - 1;
  while (top >= 0 && !bit(k1, top) && !(k2 && bit(k2, top))) top--;
  return top;
}

int babyjub_double_mul_equals(const uint64_t *k1, const fe p1[2], const uint64_t *k2, const fe p2[2],
                              const fe q[2], int words) {
  const fe a_coef = small(168700), d_coef = small(168696);
  point a, b, both, acc;
  from_affine(&a, p1);
  from_affine(&b, p2);
  point_add(&both, &a, &b, &a_coef, &d_coef);
  identity(&acc);
  // Shamir's trick: one doubling chain for both scalars.
  for (int i = top_bit(k1, k2, words); i >= 0; i--) {
    point_double(&acc, &acc, &a_coef);
    int b1 = bit(k1, i), b2 = bit(k2, i);
    if (b1 && b2) point_add(&acc, &acc, &both, &a_coef, &d_coef);
    else if (b1) point_add(&acc, &acc, &a, &a_coef, &d_coef);
    else if (b2) point_add(&acc, &acc, &b, &a_coef, &d_coef);
  }
  // Projective equality with the affine Q: X = Qx·Z and Y = Qy·Z.
  fe x, y;
  fe_mul(&x, &q[0], &acc.z);
  fe_mul(&y, &q[1], &acc.z);
  return fe_equal(&x, &acc.x) && fe_equal(&y, &acc.y);
}

void babyjub_mul(const uint64_t *k, const fe p[2], fe out[2], int words) {
  const fe a_coef = small(168700), d_coef = small(168696);
  point base, acc;
  from_affine(&base, p);
  identity(&acc);
  for (int i = top_bit(k, NULL, words); i >= 0; i--) {
    point_double(&acc, &acc, &a_coef);
    if (bit(k, i)) point_add(&acc, &acc, &base, &a_coef, &d_coef);
  }
  // Z is never 0: the formulas are complete on Baby Jubjub.
  fe z_inv;
  fe_inv(&z_inv, &acc.z);
  fe_mul(&out[0], &acc.x, &z_inv);
  fe_mul(&out[1], &acc.y, &z_inv);
}
