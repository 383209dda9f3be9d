/* Unit tests of the labeling config: parsed_label_config against the seed project's stored value,
 * validation messages of spec 4.5 A, hostile XML, and the checks against existing annotations. */
#include "formats/formats.h"
#include "formats_test_util.h"
#include "test.h"

#include <string.h>

static struct formats_config *parse_ok(const char *xml)
{
    struct formats_config *c = NULL;
    struct base_err err = {0};
    if (formats_config_parse(xml, strlen(xml), &c, &err))
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    CHECK(c != NULL);
    return c;
}

static void expect_error(const char *xml, const char *msg)
{
    struct formats_config *c = NULL;
    struct base_err err = {0};
    CHECK_EQ_INT(formats_config_parse(xml, strlen(xml), &c, &err), -1);
    CHECK(c == NULL);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    if (strncmp(err.msg, msg, strlen(msg))) {
        fprintf(stderr, "  got \"%s\"\n  want prefix \"%s\"\n", err.msg, msg);
        CHECK(0);
    }
}

static void test_seed_config(void)
{
    size_t len;
    char *xml = fixture("seed_config.xml", &len);
    char *want_text = fixture("seed_parsed.json", NULL);
    struct formats_config *c = NULL;
    struct base_err err;
    CHECK_EQ_INT(formats_config_parse(xml, len, &c, &err), 0);
    json_t *got = formats_config_parsed(c);
    json_t *want = json_loads(want_text, 0, NULL);
    CHECK(json_equal(got, want));
    char *dump = json_dumps(got, JSON_PRESERVE_ORDER | JSON_COMPACT);
    /* key order matters for byte-compatible output */
    CHECK(strstr(dump, "{\"type\":\"RectangleLabels\",\"to_name\":[\"image\"],\"inputs\"") != NULL);
    free(dump);
    json_t *dt = formats_config_data_types(c);
    CHECK_EQ_STR(json_string_value(json_object_get(dt, "image")), "Image");
    CHECK_EQ_INT(json_object_size(dt), 1);
    json_t *w = formats_config_control_weights(c);
    json_t *wl = json_object_get(w, "label");
    CHECK_NEAR(json_real_value(json_object_get(wl, "overall")), 1.0, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(wl, "type")), "RectangleLabels");
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(wl, "labels"), "face")), 1.0, 0);
    json_t *t = formats_config_tuples(c);
    CHECK_EQ_STR(json_string_value(json_array_get(t, 0)), "label|image|rectanglelabels");
    CHECK_EQ_STR(formats_config_first_data_key(c), "image");
    CHECK_EQ_INT(formats_config_ncontrols(c), 1);
    struct formats_control_info info;
    CHECK_EQ_INT(formats_config_control(c, 0, &info), 0);
    CHECK_EQ_STR(info.data_key, "image");
    CHECK_EQ_STR(info.type_lower, "rectanglelabels");
    CHECK_EQ_INT(info.nlabels, 1);
    CHECK_EQ_STR(info.labels[0], "face");
    CHECK_EQ_INT(formats_config_control(c, 1, &info), -1);
    json_decref(got), json_decref(want), json_decref(dt), json_decref(w), json_decref(t);
    formats_config_free(c);
    base_free(xml), base_free(want_text);
}

static void test_multi_config(void)
{
    char *xml = fixture("multi_config.xml", NULL);
    struct formats_config *c = parse_ok(xml);
    json_t *p = formats_config_parsed(c);
    json_t *box = json_object_get(p, "box");
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(box, "labels"), 0)), "car");
    json_t *car = json_object_get(json_object_get(box, "labels_attrs"), "car");
    CHECK_EQ_STR(json_string_value(json_object_get(car, "value")), "Car");
    CHECK_EQ_STR(json_string_value(json_object_get(car, "category")), "3");
    CHECK_EQ_STR(json_string_value(json_object_get(car, "hotkey")), "c");
    json_t *inputs = json_object_get(box, "inputs");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(inputs, 0), "value")), "photo");
    json_t *weather = json_object_get(p, "weather");
    CHECK_EQ_INT(json_array_size(json_object_get(weather, "labels")), 2);
    json_t *tags = json_object_get(p, "tags");
    json_t *cond = json_object_get(tags, "conditionals");
    CHECK_EQ_STR(json_string_value(json_object_get(cond, "type")), "label");
    CHECK_EQ_STR(json_string_value(json_object_get(cond, "name")), "car");
    CHECK(json_is_true(json_object_get(json_object_get(p, "dyn"), "dynamic_labels")));
    CHECK_EQ_INT(json_object_size(p), 6);
    json_t *dt = formats_config_data_types(c);
    CHECK_EQ_STR(json_string_value(json_object_get(dt, "photo")), "Image");
    CHECK_EQ_STR(json_string_value(json_object_get(dt, "options")), "Choices");
    CHECK_EQ_STR(formats_config_first_data_key(c), "photo");
    CHECK_EQ_INT(formats_config_find_type(c, "PolygonLabels"), 1);
    CHECK_EQ_INT(formats_config_find_type(c, "BrushLabels"), -1);
    json_decref(p), json_decref(dt);
    formats_config_free(c);
    base_free(xml);
}

static void test_validation_messages(void)
{
    expect_error("<View><Image name=\"a\" value=\"$a\"/><Image name=\"a\" value=\"$b\"/></View>",
                 "Label config contains non-unique names");
    expect_error("<View><Image name=\"img\" value=\"$i\"/>"
                 "<RectangleLabels name=\"l\" toName=\"image\"><Label value=\"x\"/>"
                 "</RectangleLabels></View>",
                 "toName=\"image\" not found in names: ['img', 'l']");
    expect_error("<View><Image value=\"$i\"/></View>",
                 "Validation failed on View/Image: 'name' is a required property");
    expect_error("<View><Image name=\"i\" value=\"$i\"/><Choices name=\"c\" toName=\"i\"/></View>",
                 "Validation failed on View/Choices: 'Choice' is a required property");
    expect_error("<View><Image name=\"i\" value=\"$i\"/><Labels name=\"c\" toName=\"i\">"
                 "<Label background=\"red\"/></Labels></View>",
                 "Validation failed on View/Labels/Label: 'value' is a required property");
    expect_error("<View><Image name=\"i\" value=\"$i\"></View>",
                 "line 1, column 36: mismatched tag");
    expect_error("", "line 1, column 1: no element found");
    /* a nested View and the toName list split on commas */
    struct formats_config *c = parse_ok("<View><View><Image name=\"a\" value=\"$a\"/>"
                                        "<Image name=\"b\" value=\"$b\"/></View>"
                                        "<Choices name=\"c\" toName=\"a,b\"><Choice value=\"x\"/>"
                                        "</Choices></View>");
    json_t *t = formats_config_tuples(c);
    CHECK_EQ_STR(json_string_value(json_array_get(t, 0)), "c|a,b|choices");
    json_decref(t);
    formats_config_free(c);
    expect_error("<View><Image name=\"a\" value=\"$a\"/><Choices name=\"c\" toName=\"a,\">"
                 "<Choice value=\"x\"/></Choices></View>",
                 "toName=\"\" not found in names");
    c = parse_ok("<View></View>");
    CHECK_EQ_INT(formats_config_ncontrols(c), 0);
    CHECK(formats_config_first_data_key(c) == NULL);
    formats_config_free(c);
}

static void test_hostile_xml(void)
{
    expect_error("<!DOCTYPE v [<!ENTITY a \"aaaa\">]><View>&a;</View>", "line 1");
    expect_error("<!DOCTYPE v SYSTEM \"file:///etc/passwd\"><View/>", "line 1");
    expect_error("<View>&undefined;</View>", "line 1");
    char deep[2000] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "<View>");
    expect_error(deep, "line 1, column");
    size_t big = FORMATS_CONFIG_MAX_BYTES + 1;
    char *huge = base_alloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    struct formats_config *c = NULL;
    struct base_err err;
    CHECK_EQ_INT(formats_config_parse(huge, big, &c, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    base_free(huge);
}

static void test_usage_checks(void)
{
    struct formats_config *c = parse_ok("<View><Image name=\"image\" value=\"$image\"/>"
                                        "<RectangleLabels name=\"label\" toName=\"image\">"
                                        "<Label value=\"face\"/></RectangleLabels></View>");
    json_t *cols = json_pack("[s]", "image");
    json_t *ann = json_object(), *labels = json_object();
    json_t *result =
        json_loads("[{\"from_name\": \"label\", \"to_name\": \"image\", \"type\": "
                   "\"rectanglelabels\", \"value\": {\"rectanglelabels\": [\"face\"]}},"
                   "{\"from_name\": \"label\", \"to_name\": \"image\", \"type\": "
                   "\"rectanglelabels\", \"value\": {\"rectanglelabels\": [\"cat\"]}}]",
                   0, NULL);
    formats_summary_update(ann, labels, result, +1);
    CHECK_EQ_INT(json_integer_value(json_object_get(ann, "label|image|rectanglelabels")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(labels, "label"), "face")), 1);
    struct formats_usage u = {.ntasks = 3,
                              .nannotations = 1,
                              .common_data_columns = cols,
                              .created_annotations = ann,
                              .created_labels = labels};
    struct base_err err;
    char *detail = NULL;
    CHECK_EQ_INT(formats_config_check_usage(c, &u, 0, NULL, &err), 0);
    CHECK_EQ_INT(formats_config_check_usage(c, &u, 1, &detail, &err), -1);
    CHECK_EQ_STR(detail, "These labels still exist in annotations:\ncat (1 annotations)");
    base_free(detail);
    formats_config_free(c);

    c = parse_ok("<View><Image name=\"image\" value=\"$image\"/>"
                 "<PolygonLabels name=\"poly\" toName=\"image\"><Label value=\"face\"/>"
                 "</PolygonLabels></View>");
    CHECK_EQ_INT(formats_config_check_usage(c, &u, 0, &detail, &err), -1);
    CHECK_EQ_STR(detail, "Created annotations are incompatible with provided labeling schema, "
                         "we found:\n2 with from_name=label, to_name=image, type=rectanglelabels");
    base_free(detail);
    formats_config_free(c);

    c = parse_ok("<View><Image name=\"image\" value=\"$pic\"/></View>");
    CHECK_EQ_INT(formats_config_check_usage(c, &u, 0, NULL, &err), -1);
    CHECK_EQ_STR(err.msg, "These fields are not present in the data: pic");
    u.ntasks = 0;
    CHECK_EQ_INT(formats_config_check_usage(c, &u, 1, NULL, &err), 0);
    formats_config_free(c);

    /* the control itself removed while its labels are in use */
    json_object_clear(ann);
    u.ntasks = 3;
    c = parse_ok("<View><Image name=\"image\" value=\"$image\"/>"
                 "<Choices name=\"other\" toName=\"image\"><Choice value=\"a\"/></Choices></View>");
    CHECK_EQ_INT(formats_config_check_usage(c, &u, 0, NULL, &err), -1);
    CHECK_EQ_STR(err.msg,
                 "There are 2 annotation(s) created with tag \"label\", you can't remove it");
    formats_config_free(c);

    formats_summary_update(ann, labels, result, -1);
    CHECK_EQ_INT(json_object_size(labels), 0);
    json_decref(cols), json_decref(ann), json_decref(labels), json_decref(result);
}

TEST_MAIN(TEST_CASE(test_seed_config), TEST_CASE(test_multi_config),
          TEST_CASE(test_validation_messages), TEST_CASE(test_hostile_xml),
          TEST_CASE(test_usage_checks))
