/* The broker's command line: what flowsensed passes, ranges, and a clear
 * reason for every mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../broker/options.h"

#include <string.h>

#define ARGV(...) ((char *[]){ "flowsense-broker", __VA_ARGS__, NULL })

static int parse(char **argv, struct broker_options *opt, char *err)
{
    int argc = 0;

    while (argv[argc] != NULL)
        argc++;
    return broker_options_parse(argc, argv, opt, err, 160);
}

static void test_full_command_line(void **state)
{
    (void)state;
    struct broker_options opt;
    char err[160];
    char **argv = ARGV("--workers", "3", "--listeners", "2", "--stdout", "--update-interval", "5",
                       "-u", "nobody", "-d", "--wait-for-client");

    assert_int_equal(parse(argv, &opt, err), 0);
    assert_true(opt.wait_for_client);
    assert_false(opt.live);
    assert_int_equal(opt.workers, 3);
    assert_int_equal(opt.listeners, 2);
    assert_true(opt.to_stdout);
    assert_int_equal(opt.update_interval, 5);
    assert_string_equal(opt.user, "nobody");
    assert_true(opt.debug);
}

static void test_defaults_and_equals_form(void **state)
{
    (void)state;
    struct broker_options opt;
    char err[160];
    char **argv = ARGV("--workers=64", "--listeners=16");

    assert_int_equal(parse(argv, &opt, err), 0);
    assert_int_equal(opt.workers, 64);
    assert_int_equal(opt.listeners, 16);
    assert_false(opt.to_stdout);
    assert_false(opt.debug);
    assert_false(opt.wait_for_client);
    assert_int_equal(opt.update_interval, 15);
    assert_string_equal(opt.user, "flowsense");

    /* stdout alone needs no listener */
    char **only_stdout = ARGV("--workers", "1", "--listeners", "0", "--stdout");
    assert_int_equal(parse(only_stdout, &opt, err), 0);
    assert_int_equal(opt.listeners, 0);
    assert_true(opt.to_stdout);
}

static void expect_error(char **argv, const char *reason)
{
    struct broker_options opt;
    char err[160];

    assert_int_equal(parse(argv, &opt, err), -1);
    if (strstr(err, reason) == NULL)
        fail_msg("error '%s' does not say '%s'", err, reason);
}

static void test_out_of_range_numbers(void **state)
{
    (void)state;
    expect_error(ARGV("--workers", "0", "--listeners", "1"),
                 "--workers: '0' is not a number from 1 to 64");
    expect_error(ARGV("--workers", "65", "--listeners", "1"), "--workers: '65'");
    expect_error(ARGV("--workers", "-1", "--listeners", "1"), "--workers: '-1'");
    expect_error(ARGV("--workers", "3x", "--listeners", "1"), "--workers: '3x'");
    expect_error(ARGV("--workers", "", "--listeners", "1"), "--workers: ''");
    expect_error(ARGV("--workers", "99999999999999999999", "--listeners", "1"), "--workers");
    expect_error(ARGV("--workers", "1", "--listeners", "17"),
                 "--listeners: '17' is not a number from 0 to 16");
    expect_error(ARGV("--workers", "1", "--listeners", "1", "--update-interval", "0"),
                 "--update-interval: '0' is not a number from 1 to 3600");
}

static void test_missing_and_unknown(void **state)
{
    (void)state;
    expect_error(ARGV("--workers", "2"), "--workers and --listeners are required");
    expect_error(ARGV("--listeners", "2"), "--workers and --listeners are required");
    expect_error(ARGV("--workers", "1", "--listeners", "0"), "nothing to serve");
    expect_error(ARGV("--workers", "1", "--listeners", "1", "--verbose"),
                 "unknown option '--verbose'");
    expect_error(ARGV("--workers", "1", "--listeners", "1", "-x"), "unknown option '-x'");
    expect_error(ARGV("--workers", "1", "--listeners", "1", "extra"),
                 "unexpected argument 'extra'");
    expect_error(ARGV("--listeners", "1", "--workers"), "--workers needs a value");
    expect_error(ARGV("--workers", "1", "--listeners", "1", "-u"), "-u needs a value");
    expect_error(ARGV("--workers", "1", "--listeners", "1", "-u", ""), "-u: empty user name");
    expect_error(ARGV("--workers", "1", "--listeners", "0", "--stdout", "--wait-for-client"),
                 "--wait-for-client needs --listeners 1 or more, and no --live");
    expect_error(ARGV("--workers", "1", "--listeners", "1", "--live", "--wait-for-client"),
                 "--wait-for-client needs --listeners 1 or more, and no --live");
}

static void test_established_flows(void **state)
{
    (void)state;
    struct broker_options opt;
    char err[160];

    assert_int_equal(parse(ARGV("--workers=2", "--listeners=1"), &opt, err), 0);
    assert_int_equal(opt.established_flows, 0); /* off unless asked */
    assert_false(opt.dump_unknown_flows);
    assert_int_equal(parse(ARGV("--workers=2", "--listeners=1", "--established-flows=6400000000",
                                "--dump-unknown-flows"),
                           &opt, err),
                     0);
    assert_int_equal(opt.established_flows, 6400000000ul);
    assert_true(opt.dump_unknown_flows);
    assert_int_equal(parse(ARGV("--workers=2", "--listeners=1", "--established-flows=0"), &opt,
                           err),
                     -1);
    assert_non_null(strstr(err, "--established-flows: '0' is not a number from 1 to"));
    assert_int_equal(parse(ARGV("--workers=2", "--listeners=1", "--established-flows=6400000001"),
                           &opt, err),
                     -1);
}

static void test_help(void **state)
{
    (void)state;
    struct broker_options opt;
    char err[160];

    assert_int_equal(parse(ARGV("--help"), &opt, err), 1);
    assert_non_null(strstr(broker_usage, "--workers W --listeners L"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_command_line),
        cmocka_unit_test(test_defaults_and_equals_form),
        cmocka_unit_test(test_out_of_range_numbers),
        cmocka_unit_test(test_missing_and_unknown),
        cmocka_unit_test(test_established_flows),
        cmocka_unit_test(test_help),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
