// Baby Jubjub, the twisted Edwards curve a·x² + y² = 1 + d·x²·y² over Fr that circomlib's
// EdDSA uses; enough of it to verify signatures.
#ifndef METERPROOF_BABYJUB_H
#define METERPROOF_BABYJUB_H

#include "field.h"

// Whether k1·P1 + k2·P2 = Q, for affine points in Montgomery form and scalars of
// `words` little-endian 64-bit words. The points must be on the curve (the caller checks).
int babyjub_double_mul_equals(const uint64_t *k1, const fe p1[2], const uint64_t *k2, const fe p2[2],
                              const fe q[2], int words);

// out = k·P in affine coordinates (Montgomery form), for a scalar of `words` words; P on
// the curve (the caller checks).
void babyjub_mul(const uint64_t *k, const fe p[2], fe out[2], int words);

#endif
