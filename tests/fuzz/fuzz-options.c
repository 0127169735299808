/* Sanitizer defaults every harness is built with, so a bare `./fuzz-ring` behaves as under the
 * test runner: any UBSan report is fatal (libFuzzer then saves the input) and comes with a stack.
 * UBSAN_OPTIONS in the environment adds to these. */
const char *__ubsan_default_options(void);

const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}
