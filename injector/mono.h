/* mono.h: the monotonic clock in milliseconds, and sleeping on it. Deadlines, backoffs and
 * timers everywhere use these two. */
#ifndef INJ_MONO_H
#define INJ_MONO_H

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin; only differences mean anything). */
long long mono_ms(void);

/* Sleeps ms milliseconds, resuming after signal interruptions; nothing for ms <= 0. */
void mono_sleep_ms(long long ms);

#endif
