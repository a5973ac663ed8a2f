/* Fuzz target: IDX image and label files (cl_idx_load), plain or gzip.
 * Input: byte 0 is n_classes (0 means 10), bytes 1-2 the length L of the
 * image file (little-endian, cut to what is there), then L bytes of image
 * file and the rest is the label file. Both are written to a private
 * folder and loaded. A rejection must be CL_EDATA naming one of the two
 * files in one line; an accepted pair must have a sane shape, labels below
 * n_classes, and (for a plain image file) exactly the file's pixel bytes. */
#include <stdint.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/tasks/idx.h"
#include "fuzz.h"

/* The set against the image file it came from. */
static int idx_check(const cl_idx_set *s, int n_classes, const uint8_t *img, size_t img_len)
{
    if (s->n < 1 || s->rows < 1 || s->cols < 1)
        return CL_FUZZ_BROKEN("accepted a %d x %d x %d set", s->n, s->rows, s->cols);
    size_t d = (size_t)s->rows * (size_t)s->cols, n = (size_t)s->n * d;
    for (int i = 0; i < s->n; i++)
        if (s->label[i] >= n_classes)
            return CL_FUZZ_BROKEN("accepted label %d >= %d", s->label[i], n_classes);
    int gzip = img_len >= 2 && img[0] == 0x1f && img[1] == 0x8b;
    if (!gzip && (img_len != 16 + n || memcmp(img + 16, s->pix, n) != 0))
        return CL_FUZZ_BROKEN("pixels differ from the %zu-byte plain file (%d x %d x %d)", img_len,
                              s->n, s->rows, s->cols);
    return 0;
}

int cl_fuzz_idx(const uint8_t *data, size_t size)
{
    if (size < 3) return 1;
    int n_classes = data[0] ? data[0] : 10;
    size_t img_len = (size_t)data[1] | (size_t)data[2] << 8;
    if (img_len > size - 3) img_len = size - 3;
    const uint8_t *img = data + 3, *lab = img + img_len;
    size_t lab_len = size - 3 - img_len;
    char images[128], labels[128];
    snprintf(images, sizeof images, "%s/images", cl_fuzz_tmpdir());
    snprintf(labels, sizeof labels, "%s/labels", cl_fuzz_tmpdir());
    cl_fuzz_put(images, img, img_len);
    cl_fuzz_put(labels, lab, lab_len);
    cl_idx_set *s = (cl_idx_set *)&s;
    int rc = cl_idx_load(&s, images, labels, n_classes);
    if (rc) {
        if (s) return CL_FUZZ_BROKEN("*out not NULL after error %d", rc);
        /* Each message names the file at fault first. */
        const char *msg = cl_error_last();
        int r = cl_fuzz_rejected(rc, NULL, CL_EDATA, CL_EDATA);
        if (r == 1 && rc != CL_ENOMEM && strncmp(msg, images, strlen(images)) != 0 &&
            strncmp(msg, labels, strlen(labels)) != 0)
            r = CL_FUZZ_BROKEN("message names neither file: %s", msg);
        return r;
    }
    int bad = idx_check(s, n_classes, img, img_len);
    cl_idx_free(s);
    return bad;
}

CL_FUZZ_ENTRY(cl_fuzz_idx)
