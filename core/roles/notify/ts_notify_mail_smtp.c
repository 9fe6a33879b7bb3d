/* ts_notify_mail_smtp.c: one mail as an RFC 5322 message, and its
 * delivery through libcurl's SMTP: MAIL FROM tessera.xml's from, RCPT TO
 * the subscriber, the message through the read callback (curl does the
 * dot-stuffing and the final "."), STARTTLS required unless tessera.xml
 * says starttls="none", AUTH with user and the password file's password
 * when given.
 *
 * The message: Date (when it was composed), From, To, Subject (RFC 2047
 * encoded words when it is not ASCII), Message-ID (made when the mail was
 * composed and kept, so a second copy after a crash is recognisable),
 * MIME-Version, Content-Type text/plain; charset=UTF-8,
 * Content-Transfer-Encoding quoted-printable (safe through any relay,
 * with or without 8BITMIME), Auto-Submitted: auto-generated (RFC 3834:
 * no vacation replies).
 */
#include "ts_notify_mail_impl.h"

#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include <sodium.h>

#include "ts_text.h"

/* DATE as RFC 5322 wants it, in local time with its offset: "Mon, 30 Nov
 * 2026 10:15:00 +0100" (the English names whatever the locale). */
static const char *
rfc5322_date(apr_time_t date, apr_pool_t *pool)
{
  static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
                                      "Fri", "Sat" };
  static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
                                        "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec" };
  apr_time_exp_t e;
  long off;

  apr_time_exp_lt(&e, date);
  off = (long)e.tm_gmtoff / 60;
  return apr_psprintf(pool, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
                      days[e.tm_wday], e.tm_mday, months[e.tm_mon],
                      e.tm_year + 1900, e.tm_hour, e.tm_min, e.tm_sec,
                      off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
                      (off < 0 ? -off : off) % 60);
}

/* SUBJECT for the header: as it is when it is printable ASCII, else
 * RFC 2047 encoded words (base64, whole UTF-8 characters per word). */
static const char *
header_text(const char *subject, apr_pool_t *pool)
{
  const unsigned char *s = (const unsigned char *)subject;
  apr_size_t n = strlen(subject), at = 0;
  ts_text_t t;
  int ascii = 1;

  for (apr_size_t i = 0; i < n; i++)
    ascii = ascii && s[i] >= ' ' && s[i] < 0x7f;
  if (ascii)
    return subject;
  ts_text_init(&t, pool);
  while (at < n) {
    apr_size_t len = n - at < 42 ? n - at : 42;
    char b64[64];
    while (at + len < n && (s[at + len] & 0xc0) == 0x80)
      len--;                      /* not inside a character */
    sodium_bin2base64(b64, sizeof(b64), s + at, len,
                      sodium_base64_VARIANT_ORIGINAL);
    if (at)
      ts_text_append(&t, "\r\n ", 3);
    ts_text_append(&t, "=?UTF-8?B?", 10);
    ts_text_append(&t, b64, strlen(b64));
    ts_text_append(&t, "?=", 2);
    at += len;
  }
  return t.data;
}

/* BODY (lines ending in "\n") quoted-printable (RFC 2045), lines ending
 * in CRLF, none longer than 76 characters. */
static const char *
quoted_printable(const char *body, apr_pool_t *pool)
{
  static const char hex[] = "0123456789ABCDEF";
  ts_text_t t;
  int col = 0;

  ts_text_init(&t, pool);
  for (const unsigned char *c = (const unsigned char *)body; *c; c++) {
    char enc[3];
    int len = 1, at_end = c[1] == '\n' || c[1] == '\0';
    if (*c == '\n') {
      ts_text_append(&t, "\r\n", 2);
      col = 0;
      continue;
    }
    enc[0] = (char)*c;
    if (*c == '=' || *c < ' ' || *c > '~' || (at_end && *c == ' ')) {
      enc[0] = '=';
      enc[1] = hex[*c >> 4];
      enc[2] = hex[*c & 15];
      len = 3;
    }
    if (col + len > 75) {        /* a soft break: "=" at the line's end */
      ts_text_append(&t, "=\r\n", 3);
      col = 0;
    }
    ts_text_append(&t, enc, (apr_size_t)len);
    col += len;
  }
  return t.data;
}

const char *
ts_mail__message(const ts_mail_out_t *out, const char *from,
                 apr_pool_t *pool)
{
  return apr_pstrcat(pool,
    "Date: ", rfc5322_date(out->date, pool), "\r\n",
    "From: Tessera <", from, ">\r\n",
    "To: <", out->rcpt, ">\r\n",
    "Subject: ", header_text(out->subject, pool), "\r\n",
    "Message-ID: ", out->message_id, "\r\n",
    "MIME-Version: 1.0\r\n",
    "Content-Type: text/plain; charset=UTF-8\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "Auto-Submitted: auto-generated\r\n",
    "\r\n", quoted_printable(out->body, pool), NULL);
}

typedef struct upload_t {
  const char *data;
  apr_size_t left;
  ts_mail_t *m;
} upload_t;

static size_t
read_message(char *buf, size_t size, size_t nitems, void *data)
{
  upload_t *u = data;
  size_t n = size * nitems < u->left ? size * nitems : u->left;

  memcpy(buf, u->data, n);
  u->data += n;
  u->left -= n;
  return n;
}

/* Give up a transfer the service stops during. */
static int
progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
         curl_off_t ultotal, curl_off_t ulnow)
{
  upload_t *u = data;

  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  return apr_atomic_read32(&u->m->abort_send) != 0;
}

/* The handle's options for M's server, the message in U to RCPT. */
static void
set_options(CURL *c, ts_mail_t *m, upload_t *u, struct curl_slist *rcpt,
            char *errbuf, apr_pool_t *pool)
{
  curl_easy_setopt(c, CURLOPT_URL, apr_psprintf(pool, "smtp://%s:%d/%s",
                   strchr(m->smtp.smtp_host, ':') ? apr_pstrcat(pool, "[",
                   m->smtp.smtp_host, "]", NULL) : m->smtp.smtp_host,
                   m->smtp.smtp_port, m->host));
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, apr_pstrcat(pool, "<",
                   m->smtp.from, ">", NULL));
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
  curl_easy_setopt(c, CURLOPT_READDATA, u);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->left);
  curl_easy_setopt(c, CURLOPT_USE_SSL, m->smtp.starttls ? (long)CURLUSESSL_ALL
                   : (long)CURLUSESSL_NONE);
  if (m->smtp.user) {
    curl_easy_setopt(c, CURLOPT_USERNAME, m->smtp.user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, m->password);
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)m->smtp.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, u);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

ts_error_t *
ts_mail__smtp_send(ts_mail_t *m, const ts_mail_out_t *out, apr_pool_t *pool)
{
  const char *msg = ts_mail__message(out, m->smtp.from, pool);
  upload_t u = { msg, strlen(msg), m };
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *rcpt;
  CURL *c = curl_easy_init();
  CURLcode rc;
  long code = 0;

  if (!c)
    return ts_error_createf(TS_EUNAVAIL, "cannot make a libcurl handle "
                            "(out of memory?)");
  rcpt = curl_slist_append(NULL, apr_pstrcat(pool, "<", out->rcpt, ">",
                                             NULL));
  set_options(c, m, &u, rcpt, errbuf, pool);
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(c);
  if (rc == CURLE_OK)
    return NULL;
  if (rc == CURLE_USE_SSL_FAILED)
    return ts_error_createf(TS_EUNAVAIL, "the SMTP server %s port %d "
                            "offers no STARTTLS (%s); give it TLS, or set "
                            "starttls=\"none\" in tessera.xml <notify><smtp> "
                            "for a relay on this machine",
                            m->smtp.smtp_host, m->smtp.smtp_port, errbuf);
  if (rc == CURLE_LOGIN_DENIED)
    return ts_error_createf(TS_EUNAVAIL, "the SMTP server %s port %d "
                            "refused the login as %s (%s); check user and "
                            "the password file in tessera.xml <notify>"
                            "<smtp>", m->smtp.smtp_host, m->smtp.smtp_port,
                            m->smtp.user ? m->smtp.user : "", errbuf);
  return ts_error_createf(TS_EUNAVAIL, "the SMTP server %s port %d did not "
                          "take the mail: %s (%s; last reply %ld)",
                          m->smtp.smtp_host, m->smtp.smtp_port,
                          curl_easy_strerror(rc), errbuf, code);
}
