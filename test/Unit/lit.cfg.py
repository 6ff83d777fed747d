# -*- Python -*-
# lit configuration for the ditc GoogleTest unit tests.
#
# This is a suite of its own: the top-level suite (test/lit.cfg.py) finds
# build/test/Unit/lit.site.cfg.py when it walks into Unit/ and hands the folder
# to this config, so `lit build/test` runs every gtest binary built here (each
# gtest counts as one lit test) and never reads Unit/ as ShTests.

import os

import lit.formats

config.name = "DITC-Unit"
config.suffixes = []

if not getattr(config, "ditc_unit_test_dir", None):
    lit_config.fatal(
        "run the unit tests from the build tree (lit build/test or "
        "lit build/test/Unit): build/test/Unit/lit.site.cfg.py is missing")

# The gtest binaries are built into the suite's own folder.
config.test_exec_root = config.ditc_unit_test_dir
config.test_source_root = config.ditc_unit_test_dir

# Executables whose name ends in "Tests" (DitcShapesTests, ...).
config.test_format = lit.formats.GoogleTest(".", "Tests")


# Knobs of ImporterFuzzTests (see ImporterFuzzTest.cpp): DITC_FUZZ_SCALE=N
# runs N times as many mutations, DITC_FUZZ_STRICT=1 fails on known findings.
for var in ["DITC_FUZZ_SCALE", "DITC_FUZZ_STRICT"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]
