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

/* libxml2's complaints: the first one explains, with its line number, as
 * an error of its own that the message about the file wraps. */
typedef struct complaints_t {
  const char *path;
  ts_error_t *first;
  int doctype_line;           /* where a DOCTYPE began, or 0 */
  apr_pool_t *pool;
} complaints_t;

static void
collect(void *ctx, xmlErrorPtr e)
{
  complaints_t *c = ctx;
  char msg[512];

  if (c->first)
    return;
  apr_cpystrn(msg, e->message ? e->message : "invalid", sizeof(msg));
  msg[strcspn(msg, "\n")] = '\0';
  c->first = e->node
    ? ts_error_createf(TS_EINVAL, "%s line %d, element %s: %s", c->path,
                       e->line, (const char *)((xmlNodePtr)e->node)->name,
                       msg)
    : ts_error_createf(TS_EINVAL, "%s line %d: %s", c->path, e->line, msg);
}

/* The kinds of file with sentences of their own; another WHAT is put into
 * a general sentence. */
typedef enum kind_t { KIND_LICENSE, KIND_CONFIGURATION, KIND_OTHER } kind_t;

static kind_t
kind_of(const char *what)
{
  if (strcmp(what, "license") == 0)
    return KIND_LICENSE;
  return strcmp(what, "configuration") == 0 ? KIND_CONFIGURATION
                                            : KIND_OTHER;
}

static ts_error_t *
doctype_error(kind_t kind, const char *path, int line, const char *what)
{
  if (kind == KIND_LICENSE)
    return ts_error_createf(TS_EINVAL, "%s line %d: a DOCTYPE is not "
                            "allowed in a license file (its entities could "
                            "make the file expand without bound); remove the "
                            "<!DOCTYPE ...> declaration", path, line);
  if (kind == KIND_CONFIGURATION)
    return ts_error_createf(TS_EINVAL, "%s line %d: a DOCTYPE is not "
                            "allowed in a configuration file (its entities "
                            "could make the file expand without bound); "
                            "remove the <!DOCTYPE ...> declaration", path,
                            line);
  return ts_error_createf(TS_EINVAL, "%s line %d: a DOCTYPE is not allowed "
                          "in a %s file (its entities could make the file "
                          "expand without bound); remove the <!DOCTYPE ...> "
                          "declaration", path, line, what);
}

/* PATH does not match the schema of KIND: around FIRST, libxml2's first
 * complaint (or without it). */
static ts_error_t *
mismatch_error(kind_t kind, const char *path, const char *what,
               ts_error_t *first)
{
  if (!first)
    return kind == KIND_LICENSE
      ? ts_error_createf(TS_EINVAL, "%s does not match the license schema",
                         path)
      : kind == KIND_CONFIGURATION
      ? ts_error_createf(TS_EINVAL, "%s does not match the configuration "
                         "schema", path)
      : ts_error_createf(TS_EINVAL, "%s does not match the %s schema", path,
                         what);
  return kind == KIND_LICENSE
    ? ts_error_wrapf(first, "%s does not match the license schema", path)
    : kind == KIND_CONFIGURATION
    ? ts_error_wrapf(first, "%s does not match the configuration schema",
                     path)
    : ts_error_wrapf(first, "%s does not match the %s schema", path, what);
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
  kind_t kind = kind_of(what);
  xmlSchemaParserCtxtPtr sctx;
  xmlSchemaPtr schema;
  xmlSchemaValidCtxtPtr vctx;
  xmlDocPtr doc;
  int rc;

  parse(&doc, &c, text, len);
  if (c.doctype_line) {
    ts_error_clear(c.first);
    return doctype_error(kind, path, c.doctype_line, what);
  }
  if (!doc)
    return c.first ? ts_error_wrapf(c.first, "%s is not well-formed XML",
                                    path)
                   : ts_error_createf(TS_EINVAL, "%s is not well-formed XML "
                                      "(it cannot be read)", path);
  apr_pool_cleanup_register(pool, doc, free_doc, apr_pool_cleanup_null);
  sctx = xmlSchemaNewMemParserCtxt(xsd, (int)strlen(xsd));
  schema = sctx ? xmlSchemaParse(sctx) : NULL;
  xmlSchemaFreeParserCtxt(sctx);
  if (!schema) {   /* a bug of the build: the schema's name as it is */
    ts_error_clear(c.first);
    return ts_error_createf(TS_EINTERNAL, "the compiled-in schema %s does "
                            "not parse", what);
  }
  vctx = xmlSchemaNewValidCtxt(schema);
  xmlSchemaSetValidStructuredErrors(vctx, (xmlStructuredErrorFunc)collect,
                                    &c);
  rc = xmlSchemaValidateDoc(vctx, doc);
  xmlSchemaFreeValidCtxt(vctx);
  xmlSchemaFree(schema);
  if (rc != 0)
    return mismatch_error(kind, path, what, c.first);
  ts_error_clear(c.first);
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
