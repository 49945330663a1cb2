/* test_log.c: the text format stays as it was; the JSON format is one valid JSON object a line
 * (RFC 8259 escaping, valid UTF-8 whatever bytes a message holds, cut short but still valid),
 * with the fields of the line. */
#include "unit.h"

#include <cjson/cJSON.h>

#include "err.h"
#include "jx.h"
#include "log.h"

static char captured[65536];

/* Runs fn with stderr going to a file; captured holds what it wrote. */
static void capture(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    int saved;
    size_t n;

    assert_non_null(tmp);
    (void)fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 2) == 2);
    fn();
    (void)fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    (void)close(saved);
    rewind(tmp);
    n = fread(captured, 1, sizeof(captured) - 1, tmp);
    captured[n] = '\0';
    (void)fclose(tmp);
}

/* The one line in captured, parsed; fails unless it is exactly one JSON object and a newline,
 * in valid UTF-8. */
static cJSON *one_json_line(void)
{
    size_t len = strlen(captured);
    cJSON *o;

    assert_true(len > 2);
    assert_true(captured[len - 1] == '\n');
    assert_null(memchr(captured, '\n', len - 1));
    assert_true(jx_utf8_valid((const unsigned char *)captured, len));
    o = cJSON_ParseWithLength(captured, len);
    assert_true(cJSON_IsObject(o));
    return o;
}

static const char *str_field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void emit_text(void)
{
    log_set_format(LOG_FMT_TEXT);
    log_warn("entry %s: %d", "X", 3);
    log_error("bad");
    log_debug("not shown at warn");
}

static void text_format_is_unchanged(void **state)
{
    (void)state;
    log_set_level(LOG_LVL_WARN);
    capture(emit_text);
    assert_string_equal(captured, "injector: warning: entry X: 3\ninjector: error: bad\n");
}

static void emit_fields(void)
{
    struct log_fields f;

    memset(&f, 0, sizeof(f));
    f.code = INJ_E_NOPERM;
    f.entry = "API_TOKEN";
    f.secret = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-AbCdEf";
    f.action = "secretsmanager:GetSecretValue";
    log_set_format(LOG_FMT_JSON);
    log_at(LOG_LVL_ERROR, &f, "entry %s: denied", "API_TOKEN");
    log_set_format(LOG_FMT_TEXT);
}

static void json_line_has_time_level_msg_and_fields(void **state)
{
    cJSON *o;
    const char *t;
    const cJSON *n;

    (void)state;
    log_set_level(LOG_LVL_WARN);
    capture(emit_fields);
    o = one_json_line();
    t = str_field(o, "time");
    /* 2026-01-02T03:04:05.678Z */
    assert_int_equal(strlen(t), 24);
    assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
                t[19] == '.' && t[23] == 'Z');
    assert_string_equal(str_field(o, "level"), "error");
    assert_string_equal(str_field(o, "msg"), "entry API_TOKEN: denied");
    assert_string_equal(str_field(o, "code"), "access-denied");
    n = cJSON_GetObjectItemCaseSensitive(o, "exit_code");
    assert_true(cJSON_IsNumber(n) && n->valueint == 77);
    assert_string_equal(str_field(o, "entry"), "API_TOKEN");
    assert_string_equal(str_field(o, "secret"),
                        "arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-AbCdEf");
    assert_string_equal(str_field(o, "action"), "secretsmanager:GetSecretValue");
    cJSON_Delete(o);
}

/* Quotes, backslashes, control characters, DEL, UTF-8 kept, and bytes that are no UTF-8: a
 * lone continuation byte, 0xff, an overlong '/', a UTF-16 surrogate, a cut sequence. */
static void emit_escapes(void)
{
    log_set_format(LOG_FMT_JSON);
    log_warn("%s", "q\" b\\ n\n r\r t\t c\x01\x1f d\x7f u\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
                   "x\x80\xff \xc0\xaf \xed\xa0\x80 \xe2\x82");
    log_set_format(LOG_FMT_TEXT);
}

static void json_escapes_everything(void **state)
{
    cJSON *o;

    (void)state;
    log_set_level(LOG_LVL_WARN);
    capture(emit_escapes);
    assert_non_null(strstr(captured, "\\u0001\\u001f d\\u007f"));
    o = one_json_line();
    assert_string_equal(str_field(o, "level"), "warn");
    assert_string_equal(str_field(o, "msg"),
                        "q\" b\\ n\n r\r t\t c\x01\x1f d\x7f u\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
                        "x\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "code"));
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "entry"));
    cJSON_Delete(o);
}

/* The longest message, all of it escaped six-fold, and more entries than fit. */
static void emit_huge(void)
{
    static char msg[4000];
    static char names[300][200];
    static const char *list[300];
    struct log_fields f;
    size_t i;

    memset(msg, 0x01, sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    for (i = 0; i < 300; i++) {
        memset(names[i], '"', sizeof(names[i]) - 1);
        names[i][sizeof(names[i]) - 1] = '\0';
        list[i] = names[i];
    }
    memset(&f, 0, sizeof(f));
    f.entries = list;
    f.nentries = 300;
    f.secrets = list;
    f.nsecrets = 300;
    f.action = "kms:Decrypt";
    f.code = INJ_E_MISSING;
    log_set_format(LOG_FMT_JSON);
    log_at(LOG_LVL_ERROR, &f, "%s", msg);
    log_set_format(LOG_FMT_TEXT);
}

static void json_cut_short_stays_valid(void **state)
{
    cJSON *o;

    (void)state;
    log_set_level(LOG_LVL_WARN);
    capture(emit_huge);
    o = one_json_line();
    assert_true(strlen(str_field(o, "msg")) > 1000);
    cJSON_Delete(o);
}

static void emit_list(void)
{
    static const char *const names[] = {"A", "B", "file/x"};
    static const char *const ids[] = {"a/1", "b/2", "arn:aws:secretsmanager:r:1:secret:c"};
    struct log_fields f;

    memset(&f, 0, sizeof(f));
    f.entries = names;
    f.nentries = 3;
    f.secrets = ids;
    f.nsecrets = 3;
    f.code = INJ_E_UNAVAILABLE;
    log_set_format(LOG_FMT_JSON);
    log_at(LOG_LVL_ERROR, &f, "3 entries failed: x");
    log_set_format(LOG_FMT_TEXT);
}

static void json_lists_several_entries(void **state)
{
    cJSON *o;
    const cJSON *e;
    const cJSON *s;

    (void)state;
    log_set_level(LOG_LVL_WARN);
    capture(emit_list);
    o = one_json_line();
    e = cJSON_GetObjectItemCaseSensitive(o, "entry");
    s = cJSON_GetObjectItemCaseSensitive(o, "secret");
    assert_true(cJSON_IsArray(e) && cJSON_GetArraySize(e) == 3);
    assert_true(cJSON_IsArray(s) && cJSON_GetArraySize(s) == 3);
    assert_string_equal(cJSON_GetArrayItem(e, 2)->valuestring, "file/x");
    assert_string_equal(cJSON_GetArrayItem(s, 0)->valuestring, "a/1");
    assert_string_equal(str_field(o, "code"), "unavailable");
    cJSON_Delete(o);
}

static void emit_err(void)
{
    struct inj_err e;

    memset(&e, 0, sizeof(e));
    (void)inj_err_set(&e, INJ_E_TEMPFAIL, "entry %s: throttled", "DB");
    e.entry = "DB";
    e.secret = "prod/db";
    log_set_format(LOG_FMT_JSON);
    log_err(LOG_LVL_ERROR, &e);
    log_err(LOG_LVL_DEBUG, &e); /* below the level: nothing */
    log_set_format(LOG_FMT_TEXT);
}

static void json_error_carries_its_fields(void **state)
{
    cJSON *o;

    (void)state;
    log_set_level(LOG_LVL_WARN);
    capture(emit_err);
    o = one_json_line();
    assert_string_equal(str_field(o, "msg"), "entry DB: throttled");
    assert_string_equal(str_field(o, "code"), "temporary");
    assert_string_equal(str_field(o, "entry"), "DB");
    assert_string_equal(str_field(o, "secret"), "prod/db");
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "action"));
    cJSON_Delete(o);
}

static void err_set_clears_fields(void **state)
{
    struct inj_err e;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.entry = "X";
    e.secret = "s";
    e.action = "a";
    (void)inj_err_set(&e, INJ_E_DATA, "again");
    assert_null(e.entry);
    assert_null(e.secret);
    assert_null(e.action);
    e.entry = "X";
    inj_err_prefix(&e, "p");
    assert_string_equal(e.entry, "X");
}

static void format_names(void **state)
{
    (void)state;
    assert_int_equal(log_format_parse("text"), LOG_FMT_TEXT);
    assert_int_equal(log_format_parse("json"), LOG_FMT_JSON);
    assert_int_equal(log_format_parse("JSON"), 0);
    assert_int_equal(log_format_parse(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_format_is_unchanged),
        cmocka_unit_test(json_line_has_time_level_msg_and_fields),
        cmocka_unit_test(json_escapes_everything),
        cmocka_unit_test(json_cut_short_stays_valid),
        cmocka_unit_test(json_lists_several_entries),
        cmocka_unit_test(json_error_carries_its_fields),
        cmocka_unit_test(err_set_clears_fields),
        cmocka_unit_test(format_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
