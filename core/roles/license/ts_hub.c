/* ts_hub.c: the hub on p+2 (SPEC §1): name resolution for clients that
 * know a model or a link by name, answered from the registry (see
 * ts_registry.h). It runs in the license server's process with a log of
 * its own (INOLIC/logs/hub.<p+2>/hub.log) and only reads. */
#include "ts_registry.h"

/* GET /v1/resolve/{name}: the physical model behind a link or model. */
static void
resolve(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  (void)req;
  ts_registry_reply_location(reply, baton, args[0], 0, pool);
}

/* /v1/links: a model names its server; a link its model and server. */
static int
list_name(void *baton, const ts_model_server_t *ms, const char *name,
          const char *model)
{
  json_object_set_new(baton, name, name == model
                      ? json_string(ms->id)
                      : json_pack("{s:s, s:s}", "model", model,
                                  "model_server", ms->id));
  return 0;
}

static void
links(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
      const char *const *args, apr_pool_t *pool)
{
  json_t *names = json_object();

  (void)req;
  (void)args;
  ts_registry_each_name(baton, list_name, names);
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "names", names), pool);
}

const ts_route_t ts_hub_routes[] = {
  { "GET", "/v1/resolve/{name}", resolve },
  { "GET", "/v1/links", links },
  { NULL, NULL, NULL }
};
