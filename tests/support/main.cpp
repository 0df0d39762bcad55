// The Catch2 runner for every test file.
#define CATCH_CONFIG_MAIN
#include "catch_compat.hpp"
