/* The console: a title, the status line, then either all four views
 * (applications, protocols and hosts side by side above the flows) or,
 * on a small terminal, the selected one. */
#include "top.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>

#define GRID_MIN_COLS 100
#define GRID_MIN_LINES 24
#define MAX_ROWS 512 /* more than any terminal shows */

int screen_open(void)
{
    if (initscr() == NULL)
        return -1;
    if (cbreak() == ERR || noecho() == ERR || keypad(stdscr, TRUE) == ERR) {
        endwin();
        return -1;
    }
    nodelay(stdscr, TRUE); /* keys are read when poll says so */
    curs_set(0);           /* ERR on a terminal without it: harmless */
    return 0;
}

void screen_close(void)
{
    endwin();
}

/* A text cut to width w at (y, x).  Drawing outside the window (the last
 * cell of the screen, a terminal shrinking under us) fails harmlessly,
 * so the results of drawing are not checked. */
static void put(int y, int x, int w, const char *text)
{
    if (w > 0)
        (void)mvaddnstr(y, x, text, w);
}

static void human(uint64_t n, char *buf, size_t len)
{
    static const char unit[] = "KMGTPE";
    double v = (double)n;
    int u = -1;

    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.1f %ciB", v, unit[u]);
}

static void draw_pane(const struct top_state *s, enum top_view v, bool selected, int y, int x,
                      int h, int w)
{
    static struct top_row rows[MAX_ROWS];
    char line[256], bytes[32];

    if (h < 2 || w < 20)
        return;
    (void)attron(selected ? A_REVERSE | A_BOLD : A_BOLD);
    snprintf(line, sizeof(line), " %s ", top_view_title[v]);
    put(y, x, w, line);
    (void)attroff(A_REVERSE | A_BOLD);
    snprintf(line, sizeof(line), "%10s %8s  %s", "BYTES", top_view_count[v],
             v == VIEW_FLOWS ? "PROTOCOL APPLICATION HOST L4 LOCAL > OTHER" : "NAME");
    (void)attron(A_UNDERLINE);
    put(y + 1, x, w - 1, line);
    (void)attroff(A_UNDERLINE);
    size_t n = top_rows(s, v, rows, (size_t)(h - 2) < MAX_ROWS ? (size_t)(h - 2) : MAX_ROWS);
    for (size_t i = 0; i < n; i++) {
        human(rows[i].bytes, bytes, sizeof(bytes));
        int len = snprintf(line, sizeof(line), "%10s %8llu  ", bytes, (unsigned long long)rows[i].count);
        put(y + 2 + (int)i, x, w - 1, line);
        put(y + 2 + (int)i, x + len, w - 1 - len, rows[i].label);
    }
}

void screen_draw(const struct top_screen *scr, const struct top_state *s)
{
    char line[512];

    (void)erase();
    snprintf(line, sizeof(line), "flowsense-top  %s  %s   [a]pps [p]rotocols [h]osts [f]lows [q]uit",
             scr->address, scr->state);
    (void)attron(A_REVERSE);
    put(0, 0, COLS, line);
    (void)attroff(A_REVERSE);
    top_status_line(s, line, sizeof(line));
    put(1, 0, COLS, line);
    int top = 3, h = LINES - top;
    if (COLS >= GRID_MIN_COLS && LINES >= GRID_MIN_LINES) {
        int upper = h / 2, third = COLS / 3;
        for (int v = VIEW_APPS; v <= VIEW_HOSTS; v++)
            draw_pane(s, (enum top_view)v, (int)scr->view == v, top, v * third, upper - 1,
                      v == VIEW_HOSTS ? COLS - 2 * third : third);
        draw_pane(s, VIEW_FLOWS, scr->view == VIEW_FLOWS, top + upper, 0, h - upper, COLS);
    } else {
        draw_pane(s, scr->view, true, top, 0, h, COLS);
    }
    (void)refresh();
}
