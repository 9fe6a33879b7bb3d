/* ts_xml.c: schema-checked XML files (see ts_xml.h).
 *
 * License files and tessera.xml have no business with a DOCTYPE: its
 * entities can make a small file expand without bound (an 80 KB license
 * with one entity referenced 10,000 times in an attribute kept the parser
 * busy for minutes at 300 MB), and its external subset names other files.
 * The parser is stopped at the DOCTYPE's first callback, before its
 * internal subset (where entities are declared) is read, and the file is
 * refused with the line to remove. */
#include "ts_xml.h"

#include <string.h>
#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/xmlschemas.h>

/* libxml2's complaints: the first one explains, with its line number. */
typedef struct complaints_t {
  const char *path;
  const char *text;
  int doctype_line;           /* where a DOCTYPE began, or 0 */
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

/* The SAX callback for <!DOCTYPE name ...: called before the internal
 * subset is parsed. Stop there. */
static void
refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
               const xmlChar *system_id)
{
  xmlParserCtxtPtr pctx = ctx;
  complaints_t *c = pctx->_private;

  (void)name;
  (void)external_id;
  (void)system_id;
  c->doctype_line = xmlSAX2GetLineNumber(ctx);
  if (c->doctype_line <= 0)
    c->doctype_line = 1;
  xmlStopParser(pctx);
}

/* Parse TEXT into *DOC (NULL when it is not well-formed or has a
 * DOCTYPE; C says why). */
static void
parse(xmlDocPtr *doc, complaints_t *c, const char *text, apr_size_t len)
{
  xmlParserCtxtPtr pctx = xmlNewParserCtxt();

  *doc = NULL;
  if (!pctx)
    return;
  pctx->_private = c;
  pctx->sax->internalSubset = refuse_doctype;
  /* libxml2's structured-error hook is per thread. */
  xmlSetStructuredErrorFunc(c, (xmlStructuredErrorFunc)collect);
  *doc = xmlCtxtReadMemory(pctx, text, (int)len, c->path, NULL,
                           XML_PARSE_NONET);
  xmlSetStructuredErrorFunc(NULL, NULL);
  xmlFreeParserCtxt(pctx);
  if (*doc && c->doctype_line) {
    xmlFreeDoc(*doc);
    *doc = NULL;
  }
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
  complaints_t c = { path, NULL, 0, pool };
  xmlSchemaParserCtxtPtr sctx;
  xmlSchemaPtr schema;
  xmlSchemaValidCtxtPtr vctx;
  xmlDocPtr doc;
  int rc;

  parse(&doc, &c, text, len);
  if (c.doctype_line)
    return ts_error_createf(TS_EINVAL, "%s line %d: a DOCTYPE is not "
                            "allowed in a %s file (its entities could make "
                            "the file expand without bound); remove the "
                            "<!DOCTYPE ...> declaration", path,
                            c.doctype_line, what);
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
