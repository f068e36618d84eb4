/* SPDX-License-Identifier: MIT */
/*
 * sim/engine.h — what the engine shows the rest of sim/ (reports, the
 * command line, tests) beyond the public sim/sim.h: metric values as of
 * now, expectation results, and a few figures for reports.
 */
#ifndef SHOAL_SIM_ENGINE_H
#define SHOAL_SIM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

struct sim_scenario;

/* Every metric (enum sim_metric) as of now into v[SIM_M__N]; NAN where
 * there is no data, INFINITY for "never". Queries every running node. */
void sim_values(struct sim *s, double *v);

/* A timed expectation's value, once its time has come. */
bool sim_expect_result(const struct sim *s, uint32_t e, double *got);
/* Does `got OP want` hold? NAN (no data) never holds. */
bool sim_expect_check(uint32_t op, double got, double want);

/* The scenario s runs (borrowed from sim_new()'s caller). */
const struct sim_scenario *sim_scenario_of(const struct sim *s);
/* Simulated time (us from the start) when the last node has started:
 * (nodes - 1) * stagger, 0 for a warm start. */
uint64_t sim_bootstrap_end_us(const struct sim *s);
/* Simulated time (us) from which metrics count: the scenario's
 * `measure from TIME`, or the end of the bootstrap when it has none. */
uint64_t sim_measure_us(const struct sim *s);
/* The most events ever pending at once in the engine's queue. */
size_t sim_heap_peak(const struct sim *s);
/* The keyring every node shares (one fixed key when the scenario uses
 * crypto, empty otherwise). Owned by the sim, valid while it lives. */
const struct keyring *sim_keyring(const struct sim *s);
/* The intern pool the nodes share for names. Owned by the sim, valid
 * while it lives. */
struct intern *sim_pool(struct sim *s);

#endif
