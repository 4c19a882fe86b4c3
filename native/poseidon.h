// Poseidon with circomlib's parameters (widths t = 2…17), in the sparse form of
// circomlibjs' poseidon_opt.js (after Neptune).
#ifndef METERPROOF_POSEIDON_H
#define METERPROOF_POSEIDON_H

#include <stddef.h>
#include "field.h"

#define POSEIDON_MAX_T 17

typedef struct poseidon_params poseidon_params;

// Registers width t from canonical constants (32-byte little-endian each) laid out as in
// poseidon_constants_opt.json: C, S, and M and P row-major as M[j][i]. Returns 0 when a
// constant is not a field element; a width that is already set is kept.
int poseidon_setup(int t, int rounds_p, const uint8_t *c, const uint8_t *s, const uint8_t *m, const uint8_t *p);

// The parameters for `arity` inputs, or NULL when they were never set up.
const poseidon_params *poseidon_width(size_t arity);

// Poseidon of params' t - 1 inputs, all in Montgomery form.
void poseidon_hash(const poseidon_params *params, const fe *inputs, fe *out);

#endif
