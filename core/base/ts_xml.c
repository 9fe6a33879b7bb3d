/* ts_xml.c: schema-checked XML files (see ts_xml.h). */
#include "ts_xml.h"

#include <string.h>
#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

/* libxml2's complaints: the first one explains, with its line number. */
typedef struct complaints_t {
  const char *path;
  const char *text;
  apr_pool_t *pool;
} complaints_t;

static void
collect(void *ctx, xmlErrorPtr e)
{
  complaints_t *c = ctx;
  char msg[512];

  apr_cpystrn(msg, e->message ? e->message : "invalid", sizeof(msg));
  msg[strcspn(msg, "\n")] = '\0';
  if (!c->text)
    c->text = apr_psprintf(c->pool, "%s line %d%s%s: %s", c->path, e->line,
                           e->node ? ", element " : "",
                           e->node ? (const char *)((xmlNodePtr)e->node)->name
                                   : "", msg);
}

static apr_status_t
free_doc(void *doc)
{
  xmlFreeDoc(doc);
  return APR_SUCCESS;
}

ts_error_t *
ts_xml_load(xmlDocPtr *doc_p, const char *path, const char *text,
            apr_size_t len, const char *xsd, const char *what,
            apr_pool_t *pool)
{
  complaints_t c = { path, NULL, pool };
  xmlParserCtxtPtr pctx = xmlNewParserCtxt();
  xmlSchemaParserCtxtPtr sctx;
  xmlSchemaPtr schema;
  xmlSchemaValidCtxtPtr vctx;
  xmlDocPtr doc;
  int rc;

  /* libxml2's structured-error hook is per thread. */
  xmlSetStructuredErrorFunc(&c, (xmlStructuredErrorFunc)collect);
  doc = pctx ? xmlCtxtReadMemory(pctx, text, (int)len, path, NULL,
                                 XML_PARSE_NONET) : NULL;
  xmlSetStructuredErrorFunc(NULL, NULL);
  xmlFreeParserCtxt(pctx);
  if (!doc)
    return ts_error_createf(TS_EINVAL, "%s is not well-formed XML: %s",
                            path, c.text ? c.text : "unreadable");
  apr_pool_cleanup_register(pool, doc, free_doc, apr_pool_cleanup_null);
  sctx = xmlSchemaNewMemParserCtxt(xsd, (int)strlen(xsd));
  schema = sctx ? xmlSchemaParse(sctx) : NULL;
  xmlSchemaFreeParserCtxt(sctx);
  if (!schema)
    return ts_error_createf(TS_EINTERNAL, "the compiled-in %s schema does "
                            "not parse", what);
  vctx = xmlSchemaNewValidCtxt(schema);
  xmlSchemaSetValidStructuredErrors(vctx, (xmlStructuredErrorFunc)collect,
                                    &c);
  rc = xmlSchemaValidateDoc(vctx, doc);
  xmlSchemaFreeValidCtxt(vctx);
  xmlSchemaFree(schema);
  if (rc != 0)
    return ts_error_createf(TS_EINVAL, "%s does not match the %s schema: %s",
                            path, what, c.text ? c.text : "invalid");
  *doc_p = doc;
  return NULL;
}

const char *
ts_xml_attr(xmlNodePtr n, const char *name, apr_pool_t *pool)
{
  xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
  const char *out = v ? apr_pstrdup(pool, (const char *)v) : NULL;

  xmlFree(v);
  return out;
}

const char *
ts_xml_content(xmlNodePtr n, apr_pool_t *pool)
{
  xmlChar *v = xmlNodeGetContent(n);
  const char *out = apr_pstrdup(pool, v ? (const char *)v : "");

  xmlFree(v);
  return out;
}

int
ts_xml_is(xmlNodePtr n, const char *name)
{
  return n->type == XML_ELEMENT_NODE
         && xmlStrEqual(n->name, (const xmlChar *)name);
}
