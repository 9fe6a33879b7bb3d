/* ts_models_impl.h: what the files of ts_models.h share. */
#ifndef TS_MODELS_IMPL_H
#define TS_MODELS_IMPL_H

#include "ts_models.h"

/* INOPRJ/ivr/<model> (READ_ONLY: INOPRJ/readonly/<model>). */
const char *ts_models_model_dir(const char *inoprj, const char *model,
                                int read_only, apr_pool_t *pool);

/* The directories in DIR with valid names (of const char *), sorted; none
 * when DIR does not exist. */
ts_error_t *ts_models_subdirs(apr_array_header_t **names, const char *dir,
                              apr_pool_t *pool);

/* A name for a "." directory beside a version being made or removed:
 * ".<what>.<name>.<host>.<pid>.<random>" (see ts_models_sweep). */
const char *ts_models_temp_name(const char *what, const char *name,
                                const char *host, apr_pool_t *pool);

/* Remove DIR and everything in it; links are removed, never followed. */
ts_error_t *ts_models_remove_tree(const char *dir, apr_pool_t *pool);

#endif
