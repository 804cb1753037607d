/* Whole decimal numbers from hostile text (command lines, later the
 * configuration file). */
#ifndef FLOWSENSE_NUMBER_H
#define FLOWSENSE_NUMBER_H

/* Parses all of text as a decimal number from min to max.  No sign, no
 * spaces, no trailing bytes.  Returns 0, or -1 with *out untouched. */
int parse_unsigned(const char *text, unsigned long min, unsigned long max, unsigned long *out);

#endif
