/* Numbers from command lines: the one parser every process uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "number.h"

static void test_accepts_whole_numbers_in_range(void **state)
{
    (void)state;
    unsigned long v = 0;

    assert_int_equal(parse_unsigned("15", 1, 3600, &v), 0);
    assert_int_equal(v, 15);
    assert_int_equal(parse_unsigned("1", 1, 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(parse_unsigned("1073741824", 65536, 1073741824, &v), 0);
    assert_int_equal(v, 1073741824);
}

static void test_refuses_everything_else(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "-1", "+2", " 3", "3 ", "2x", "0x10", "abc", "0", "65",
        "99999999999999999999999", /* overflows unsigned long */
    };
    unsigned long v = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_unsigned(bad[i], 1, 64, &v), -1);
    assert_int_equal(v, 42); /* untouched on failure */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_whole_numbers_in_range),
        cmocka_unit_test(test_refuses_everything_else),
    };
    return cmocka_run_group_tests_name("number", tests, NULL, NULL);
}
