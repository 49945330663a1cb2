/* doc.h: reference text compiled into the binary, generated at build time from docs/ by
 * scripts/gen-doc.sh, so `injector help config` prints exactly docs/config.md. */
#ifndef INJ_DOC_H
#define INJ_DOC_H

extern const char inj_doc_config[];

#endif
