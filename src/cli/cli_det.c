/* Helpers shared by the detector commands: a table-driven option parser and reading a COCO,
 * YOLO or VOC data set through the formats module into the detector's data set. */
#include "cli_int.h"

#include "det/det.h"
#include "formats/formats.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int set_opt(const struct cli_det_opt *o, const char *v)
{
    int64_t i;
    switch (o->kind) {
    case CLI_DET_STR:
        *(const char **)o->dst = v;
        return 0;
    case CLI_DET_INT:
        if (base_parse_i64(v, &i) || i < -1000000000 || i > 1000000000)
            return -1;
        *(int *)o->dst = (int)i;
        return 0;
    case CLI_DET_DOUBLE:
        return base_parse_double(v, (double *)o->dst);
    }
    return -1;
}

int cli_det_parse(int argc, char **argv, const struct cli_det_opt *opts, size_t nopts,
                  const char *usage, int *exit_status)
{
    for (int a = 1; a < argc; a += 2) {
        if (cli_is_help(argv[a])) {
            fputs(usage, stdout);
            *exit_status = 0;
            return 1;
        }
        size_t k = 0;
        while (k < nopts && strcmp(argv[a], opts[k].name))
            k++;
        if (k == nopts || a + 1 >= argc || set_opt(&opts[k], argv[a + 1])) {
            cli_fail(k == nopts ? "%s: unknown option '%s' (see --help)"
                                : "%s: option %s needs a valid value",
                     argv[0], argv[a]);
            *exit_status = 2;
            return 1;
        }
    }
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int exists_in(const char *dir, const char *name)
{
    char *p = base_path_join(dir, name);
    int ok = base_file_exists(p);
    base_free(p);
    return ok;
}

static int has_xml(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)))
        found = base_str_ends_with(e->d_name, ".xml");
    if (d)
        closedir(d);
    return found;
}

/* COCO for a .json file or a folder of JSON; YOLO with classes.txt; VOC with Annotations/ or an
 * annotations/ folder of XML files. */
static int guess_kind(const char *path, enum formats_kind *kind, struct base_err *err)
{
    *kind = FORMATS_COCO;
    if (!is_dir(path))
        return base_str_ends_with(path, ".json")
                   ? 0
                   : base_err_set(err, BASE_E_INVALID, "%s: not a data set folder or .json", path);
    char *ann = base_path_join(path, "annotations");
    if (exists_in(path, "classes.txt"))
        *kind = FORMATS_YOLO;
    else if (exists_in(path, "Annotations") || has_xml(ann))
        *kind = FORMATS_VOC;
    base_free(ann);
    return 0;
}

int cli_det_read(const char *path, const char *format, struct det_dataset **out, int *skipped,
                 struct base_err *err)
{
    enum formats_kind kind;
    struct formats_dataset *fd = NULL;
    *out = NULL;
    if (skipped)
        *skipped = 0;
    if (format ? formats_kind_parse(format, &kind) : guess_kind(path, &kind, err))
        return format ? base_err_set(err, BASE_E_INVALID, "unknown data set format '%s'", format)
                      : -1;
    if (kind != FORMATS_COCO && kind != FORMATS_YOLO && kind != FORMATS_VOC)
        return base_err_set(err, BASE_E_INVALID, "data sets are read as coco, yolo or voc");
    if (formats_dataset_read_lenient(path, kind, &fd, err))
        return -1;
    if (skipped)
        *skipped = (int)fd->skipped;
    if (fd->nsamples == 0) {
        formats_dataset_free(fd);
        return base_err_set(err, BASE_E_INVALID, "%s: the data set has no readable images", path);
    }
    *out = det_dataset_from_formats(fd, 0, err);
    formats_dataset_free(fd);
    return *out ? 0 : -1;
}

const char *cli_det_skipped(int skipped, char *buf, size_t size)
{
    if (skipped <= 0)
        snprintf(buf, size, "%s", "");
    else
        snprintf(buf, size, "skipped %d image%s (see warnings above)", skipped,
                 skipped == 1 ? "" : "s");
    return buf;
}
