// NETKIT_VECTOR_CLONES marks a hot loop to be compiled twice, for AVX2 and for baseline x86-64,
// with the version picked at load time. Both give the same bits as long as the loop spells out
// its operation order (explicit accumulation lanes, no reassociation) — -ffp-contract=off, set
// for the whole project, forbids fused multiply-adds.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NETKIT_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NETKIT_VECTOR_CLONES
#endif
