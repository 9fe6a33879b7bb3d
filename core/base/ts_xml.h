/* ts_xml.h: XML files checked against a compiled-in schema (license files,
 * tessera.xml), with errors that name the file, line and element. */
#ifndef TS_XML_H
#define TS_XML_H

#include <apr_pools.h>
#include <libxml/tree.h>
#include "ts_error.h"

/* Parse TEXT (LEN bytes, read from PATH) without network access and
 * validate it against the schema XSD. WHAT names the kind of file in
 * messages: "license" and "configuration" have sentences of their own
 * (another word is put into a general one, untranslated). A DOCTYPE (and
 * with it every
 * entity declaration) is refused before anything in it is read: "PATH
 * line N: a DOCTYPE is not allowed in a WHAT file ...". The document is
 * freed with POOL. Errors are TS_EINVAL: "PATH line N, element E: ...". */
ts_error_t *ts_xml_load(xmlDocPtr *doc, const char *path, const char *text,
                        apr_size_t len, const char *xsd, const char *what,
                        apr_pool_t *pool);

/* Attribute NAME of N, or NULL; the text content of N ("" when empty). */
const char *ts_xml_attr(xmlNodePtr n, const char *name, apr_pool_t *pool);
const char *ts_xml_content(xmlNodePtr n, apr_pool_t *pool);

/* Whether N is the element NAME. */
int ts_xml_is(xmlNodePtr n, const char *name);

#endif
