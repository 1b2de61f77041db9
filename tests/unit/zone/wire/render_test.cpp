#include "zone/wire/render.h"
#include <gtest/gtest.h>
