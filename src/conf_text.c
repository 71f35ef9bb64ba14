/*
 * The text libconfuse parses: each file read, its comments blanked out,
 * its top-level "include" statements replaced by the files they name, and
 * a map from the lines of the result back to the file and line each came
 * from, so that every error names the file it is in.
 *
 * Splicing text, rather than libconfuse's own include (a lexer switch
 * that opens the file itself), keeps the comment pre-lexer and exact line
 * numbers for included files, and lets a glob match nothing.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes of one file */
#define CONF_TEXT_MAX	(16 * 1024 * 1024) /* bytes of them all */
#define CONF_FILES_MAX	4096		/* files read, includes too */
#define CONF_DEPTH_MAX	8		/* includes within includes */
#define CONF_MSG_MAX	1024
#define CONF_TEXT_NGLOBALS 2

/* From this line of the text on, the lines are those of a file. */
struct conf_seg {
	int		 line;		/* of the text */
	size_t		 file;		/* index into files */
	int		 file_line;	/* its line there */
};

/* A pool section seen at the top level, to find one defined twice. */
struct conf_pool_seen {
	char		*name;
	size_t		 file;
	int		 line;
};

struct conf_text {
	char			*buf;
	size_t			 len, size;
	int			 line;		/* of buf's end */
	char			**files;
	size_t			 nfiles;
	struct conf_seg		*segs;
	size_t			 nsegs, segsize;
	struct conf_pool_seen	*pools;
	size_t			 npools, poolsize;
	struct stat		 stack[CONF_DEPTH_MAX + 1]; /* files open */
	char			*globals[CONF_TEXT_NGLOBALS]; /* or NULL */
};

/*
 * The global settings read here, for the commands that need only them
 * (pooled -s, -k) and must work when a pool or a module is broken.
 */
static const char *const global_names[CONF_TEXT_NGLOBALS] = {
	"status_listen", "pid_file"
};

/* A token of the top level, after the comments are gone. */
enum tok_kind { TOK_NONE, TOK_WORD, TOK_STRING, TOK_PUNCT };

struct tok {
	enum tok_kind	 kind;
	char		*start, *end;	/* the text, quotes included */
	int		 line;
};

static void	 file_warnx(const char *, int, const char *, ...)
		    POOLED_PRINTFLIKE(3, 4);
static int	 expand(struct conf_text *, const char *, int);

static void
file_warnx(const char *file, int line, const char *fmt, ...)
{
	char	 msg[CONF_MSG_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		log_warnx("%s:%d: %s", file, line, msg);
	else
		log_warnx("%s: %s", file, msg);
}

/*
 * The whole file, NUL-terminated, and its identity in *st; logs and
 * returns NULL on error.
 */
static char *
read_file(const char *path, size_t *lenp, struct stat *st)
{
	FILE	*fp;
	char	*buf;
	size_t	 len;

	if ((fp = fopen(path, "re")) == NULL) {
		log_warn("%s", path);
		return NULL;
	}
	if (fstat(fileno(fp), st) == -1) {
		log_warn("%s", path);
		fclose(fp);
		return NULL;
	}
	buf = xmalloc(CONF_FILE_MAX + 1);
	len = fread(buf, 1, CONF_FILE_MAX + 1, fp);
	if (ferror(fp)) {
		log_warn("%s", path);
		goto fail;
	}
	if (len > CONF_FILE_MAX) {
		log_warnx("%s: larger than %d bytes", path, CONF_FILE_MAX);
		goto fail;
	}
	fclose(fp);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	free(buf);
	fclose(fp);
	return NULL;
}

/* The "}" that ends a "${...}" starting at p, as the lexer sees it. */
static char *
env_end(char *p, char *end)
{
	if (end - p < 2 || p[0] != '$' || p[1] != '{')
		return NULL;
	return memchr(p, '}', (size_t)(end - p));
}

/*
 * Blank out the comments, keeping their newlines, before libconfuse sees
 * the text.  libconfuse 3.3 counts two lines too many for every "#" or
 * "//" comment and one for every block comment, and fails on a comment
 * inside a list; without comments its line numbers are exact.
 *
 * This follows libconfuse's lexer: "#" starts a comment anywhere outside
 * quotes, "//" and a block comment only where a token starts, and
 * "${...}" is one token even across quotes.  It also rejects what that
 * lexer would silently accept: NUL bytes, a "*" or "+" outside quotes
 * (listen = *:9000 would read as ":9000"), and a missing "}" at the end.
 */
static int
blank_comments(const char *file, char *buf, size_t len)
{
	char	*p, *e, *end = buf + len, q;
	int	 line = 1, start, depth = 0, open_line = 0;
	bool	 word = false;

	if ((e = memchr(buf, '\0', len)) != NULL) {
		for (p = buf; p < e; p++)
			if (*p == '\n')
				line++;
		file_warnx(file, line, "NUL byte in the file");
		return -1;
	}
	for (p = buf; p < end; p++) {
		switch (*p) {
		case '\n':
			line++;
			word = false;
			break;
		case '"':
		case '\'':
			q = *p;
			start = line;
			for (p++; p < end && *p != q; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (q == '"' &&
				    (e = env_end(p, end)) != NULL)
					for (; p < e; p++)
						if (*p == '\n')
							line++;
				if (*p == '\n')
					line++;
			}
			if (p == end) {
				file_warnx(file, start, "unterminated string");
				return -1;
			}
			word = false;
			break;
		case '#':
			for (; p < end && *p != '\n'; p++)
				*p = ' ';
			p--;
			word = false;
			break;
		case '/':
			if (!word && p[1] == '/') {
				for (; p < end && *p != '\n'; p++)
					*p = ' ';
				p--;
			} else if (!word && p[1] == '*') {
				start = line;
				p[0] = p[1] = ' ';
				for (p += 2; p < end; p++) {
					if (p[0] == '*' && p[1] == '/')
						break;
					if (*p == '\n')
						line++;
					else
						*p = ' ';
				}
				if (p == end) {
					file_warnx(file, start,
					    "unterminated comment");
					return -1;
				}
				p[0] = p[1] = ' ';
				p++;
				word = false;
			} else
				word = true;
			break;
		case '$':
			if (!word && (e = env_end(p, end)) != NULL) {
				for (; p < e; p++)
					if (*p == '\n')
						line++;
				word = false;
			} else
				word = true;
			break;
		case '{':
			if (depth++ == 0)
				open_line = line;
			word = false;
			break;
		case '}':
			if (depth > 0)
				depth--;	/* else libconfuse complains */
			word = false;
			break;
		case '+':
			if (p[1] == '=') {
				p++;
				word = false;
				break;
			}
			/* FALLTHROUGH */
		case '*':
			file_warnx(file, line, "stray \"%c\" (put values "
			    "containing it in double quotes)", *p);
			return -1;
		default:
			word = strchr(" \t\r=(),", *p) == NULL;
			break;
		}
	}
	/* libconfuse would take the end of the file as the "}". */
	if (depth > 0) {
		file_warnx(file, open_line, "\"{\" is never closed");
		return -1;
	}
	return 0;
}


/* Append n bytes to the text, counting its lines. */
static int
emit(struct conf_text *ct, const char *p, size_t n)
{
	size_t	 i;

	if (n > CONF_TEXT_MAX - ct->len) {
		log_warnx("%s: with its includes, larger than %d bytes",
		    ct->files[0], CONF_TEXT_MAX);
		return -1;
	}
	if (ct->len + n + 1 > ct->size) {
		ct->size = (ct->len + n + 1) * 2;
		ct->buf = xreallocarray(ct->buf, ct->size, 1);
	}
	memcpy(ct->buf + ct->len, p, n);
	ct->len += n;
	ct->buf[ct->len] = '\0';
	for (i = 0; i < n; i++)
		if (p[i] == '\n')
			ct->line++;
	return 0;
}

/* From the text's current line on, the lines are file's, from file_line. */
static void
add_seg(struct conf_text *ct, size_t file, int file_line)
{
	struct conf_seg	*s;

	/* A segment that got no line (an empty file) is replaced. */
	if (ct->nsegs > 0 && ct->segs[ct->nsegs - 1].line == ct->line)
		ct->nsegs--;
	if (ct->nsegs == ct->segsize) {
		ct->segsize = ct->segsize == 0 ? 16 : ct->segsize * 2;
		ct->segs = xreallocarray(ct->segs, ct->segsize,
		    sizeof(*ct->segs));
	}
	s = &ct->segs[ct->nsegs++];
	s->line = ct->line;
	s->file = file;
	s->file_line = file_line;
}

/*
 * The next token at *pp, the comments being blanked out: a word, a quoted
 * string or one of "={}()," ("+=" too), as libconfuse's lexer splits them;
 * TOK_NONE at the end.  *line follows the newlines passed.
 */
static void
next_tok(char **pp, char *end, int *line, struct tok *t)
{
	char	*p = *pp, *e, q;

	for (; p < end && strchr(" \t\r\n", *p) != NULL; p++)
		if (*p == '\n')
			(*line)++;
	t->start = p;
	t->line = *line;
	if (p == end) {
		t->kind = TOK_NONE;
	} else if (*p == '"' || *p == '\'') {
		/* Terminated: blank_comments() checked. */
		t->kind = TOK_STRING;
		for (q = *p++; p < end && *p != q; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (q == '"' && (e = env_end(p, end)) != NULL)
				for (; p < e; p++)
					if (*p == '\n')
						(*line)++;
			if (*p == '\n')
				(*line)++;
		}
		if (p < end)
			p++;
	} else if (strchr("={}(),", *p) != NULL) {
		t->kind = TOK_PUNCT;
		p++;
	} else if (*p == '+' && p + 1 < end && p[1] == '=') {
		t->kind = TOK_PUNCT;
		p += 2;
	} else {
		t->kind = TOK_WORD;
		for (; p < end && strchr(" \t\r\n=\"'{}(),", *p) == NULL; p++)
			if ((e = env_end(p, end)) != NULL)
				p = e;
	}
	t->end = p;
	*pp = p;
}

/* Whether t is the word or punctuation s. */
static bool
tok_is(const struct tok *t, enum tok_kind kind, const char *s)
{
	size_t	 n = strlen(s);

	return t->kind == kind && (size_t)(t->end - t->start) == n &&
	    memcmp(t->start, s, n) == 0;
}

/* A word or string's value, unquoted and unescaped. */
static char *
tok_value(const struct tok *t)
{
	const char	*p = t->start, *end = t->end;
	char		*v, *o;

	if (t->kind == TOK_STRING) {
		p++;
		end--;
	}
	o = v = xmalloc((size_t)(end - p) + 1);
	for (; p < end; p++) {
		if (t->kind == TOK_STRING && *p == '\\' && p + 1 < end)
			p++;
		*o++ = *p;
	}
	*o = '\0';
	return v;
}

/* Remember a top-level pool; -1 if one of that name came before. */
static int
add_pool(struct conf_text *ct, const struct tok *title, size_t file,
    int line)
{
	struct conf_pool_seen	*ps;
	char			*name;
	size_t			 i;

	name = tok_value(title);
	for (i = 0; i < ct->npools; i++) {
		ps = &ct->pools[i];
		if (strcmp(ps->name, name) != 0)
			continue;
		if (ps->file == file)
			file_warnx(ct->files[file], line, "pool \"%s\": "
			    "already defined at line %d", name, ps->line);
		else
			file_warnx(ct->files[file], line, "pool \"%s\": "
			    "already defined at %s:%d", name,
			    ct->files[ps->file], ps->line);
		free(name);
		return -1;
	}
	if (ct->npools == ct->poolsize) {
		ct->poolsize = ct->poolsize == 0 ? 16 : ct->poolsize * 2;
		ct->pools = xreallocarray(ct->pools, ct->poolsize,
		    sizeof(*ct->pools));
	}
	ps = &ct->pools[ct->npools++];
	ps->name = name;
	ps->file = file;
	ps->line = line;
	return 0;
}

/* Note "name = value" at the top level if name is a global we keep. */
static void
set_global(struct conf_text *ct, const struct tok *name,
    const struct tok *value)
{
	size_t	 i;

	for (i = 0; i < CONF_TEXT_NGLOBALS; i++)
		if (tok_is(name, TOK_WORD, global_names[i])) {
			/* The last one counts, as for libconfuse. */
			free(ct->globals[i]);
			ct->globals[i] = tok_value(value);
		}
}

/* Keep glob() going past a directory that does not exist. */
static int	 glob_errno;
static char	 glob_errpath[1024];

static int
glob_error(const char *path, int error)
{
	if (error == ENOENT || error == ENOTDIR)
		return 0;
	glob_errno = error;
	snprintf(glob_errpath, sizeof(glob_errpath), "%s", path);
	return 1;
}

/*
 * The files "include = pattern" on line of file names: the pattern taken
 * relative to file's directory, which is escaped so that only the pattern
 * is a glob.  A pattern with "*", "?" or "[" may match nothing, as in
 * PHP-FPM; a plain path must exist.  Matches come sorted (glob(3) in the
 * C locale), directories skipped.
 */
static int
include(struct conf_text *ct, size_t file, int line, const char *pattern,
    int depth)
{
	const char	*from = ct->files[file], *slash;
	char		*dir = NULL, *full = NULL, *o;
	glob_t		 g;
	size_t		 i, n;
	struct stat	 st;
	int		 rc = -1, grc;

	if (*pattern == '\0') {
		file_warnx(from, line, "include: empty path");
		return -1;
	}
	if (strstr(pattern, "${") != NULL) {
		file_warnx(from, line, "include \"%s\": environment variables "
		    "are not expanded in include", pattern);
		return -1;
	}
	if (depth >= CONF_DEPTH_MAX) {
		file_warnx(from, line, "include \"%s\": includes nested more "
		    "than %d deep", pattern, CONF_DEPTH_MAX);
		return -1;
	}
	slash = strrchr(from, '/');
	n = slash == NULL ? 0 : (size_t)(slash - from) + 1;
	/* The directory with its slash ("" for "."), escaped for glob(). */
	dir = xmalloc(2 * n + 1);
	for (o = dir, i = 0; i < n; i++) {
		if (strchr("*?[\\", from[i]) != NULL)
			*o++ = '\\';
		*o++ = from[i];
	}
	*o = '\0';
	full = xmalloc(2 * n + strlen(pattern) + 1);
	if (*pattern == '/')
		strcpy(full, pattern);
	else if (strpbrk(pattern, "*?[") == NULL)
		snprintf(full, 2 * n + strlen(pattern) + 1, "%.*s%s", (int)n,
		    from, pattern);
	else
		snprintf(full, 2 * n + strlen(pattern) + 1, "%s%s", dir,
		    pattern);
	if (strpbrk(pattern, "*?[") == NULL) {
		if (stat(full, &st) == -1) {
			file_warnx(from, line, "include \"%s\": %s: %s",
			    pattern, full, strerror(errno));
			goto done;
		}
		if (emit(ct, "\n", 1) == -1 ||
		    expand(ct, full, depth + 1) == -1)
			goto done;
		rc = 0;
		goto done;
	}
	glob_errno = 0;
	grc = glob(full, GLOB_MARK, glob_error, &g);
	if (grc == GLOB_NOMATCH) {
		rc = 0;
		goto done;
	}
	if (grc != 0) {
		if (glob_errno != 0)
			file_warnx(from, line, "include \"%s\": %s: %s",
			    pattern, glob_errpath, strerror(glob_errno));
		else
			file_warnx(from, line, "include \"%s\": glob failed",
			    pattern);
		if (grc != GLOB_NOSPACE)
			globfree(&g);
		goto done;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		n = strlen(g.gl_pathv[i]);
		if (n > 0 && g.gl_pathv[i][n - 1] == '/')
			continue;	/* a directory */
		if (emit(ct, "\n", 1) == -1 ||
		    expand(ct, g.gl_pathv[i], depth + 1) == -1) {
			globfree(&g);
			goto done;
		}
	}
	globfree(&g);
	rc = 0;
done:
	free(full);
	free(dir);
	return rc;
}

/*
 * Read path into the text at depth (0: the main file), replacing each of
 * its top-level "include = pattern" by the files it names, and note the
 * pools it defines.
 */
static int
expand(struct conf_text *ct, const char *path, int depth)
{
	struct tok	 t, prev1, prev2, val;
	struct stat	 st;
	char		*buf, *p, *end, *mark, *pattern;
	size_t		 len, file;
	int		 i, line = 1, nest = 0, rc = -1;

	if (ct->nfiles == CONF_FILES_MAX) {
		log_warnx("%s: more than %d files included", ct->files[0],
		    CONF_FILES_MAX);
		return -1;
	}
	if ((buf = read_file(path, &len, &st)) == NULL)
		return -1;
	for (i = 0; i < depth; i++)
		if (ct->stack[i].st_dev == st.st_dev &&
		    ct->stack[i].st_ino == st.st_ino) {
			log_warnx("%s: included in itself (an include cycle)",
			    path);
			goto done;
		}
	ct->stack[depth] = st;
	if (blank_comments(path, buf, len) == -1)
		goto done;
	file = ct->nfiles;
	ct->files = xreallocarray(ct->files, ct->nfiles + 1,
	    sizeof(*ct->files));
	ct->files[ct->nfiles++] = xstrdup(path);
	add_seg(ct, file, 1);

	p = mark = buf;
	end = buf + len;
	memset(&prev1, 0, sizeof(prev1));
	memset(&prev2, 0, sizeof(prev2));
	for (;;) {
		next_tok(&p, end, &line, &t);
		if (t.kind == TOK_NONE)
			break;
		/* "include" where an option name goes, not as a value. */
		if (nest == 0 && tok_is(&t, TOK_WORD, "include") &&
		    !tok_is(&prev1, TOK_WORD, "pool") &&
		    !tok_is(&prev1, TOK_PUNCT, "=") &&
		    !tok_is(&prev1, TOK_PUNCT, "+=") &&
		    !tok_is(&prev1, TOK_PUNCT, ",") &&
		    !tok_is(&prev1, TOK_PUNCT, "(")) {
			next_tok(&p, end, &line, &val);
			if (!tok_is(&val, TOK_PUNCT, "="))
				goto syntax;
			next_tok(&p, end, &line, &val);
			if (val.kind != TOK_WORD && val.kind != TOK_STRING)
				goto syntax;
			if (emit(ct, mark, (size_t)(t.start - mark)) == -1)
				goto done;
			pattern = tok_value(&val);
			if (include(ct, file, t.line, pattern, depth) == -1) {
				free(pattern);
				goto done;
			}
			free(pattern);
			/* The rest of this file, from the end of the value. */
			if (emit(ct, "\n", 1) == -1)
				goto done;
			add_seg(ct, file, line);
			mark = p;
			memset(&prev1, 0, sizeof(prev1));
			memset(&prev2, 0, sizeof(prev2));
			continue;
		}
		if (nest == 0 && (t.kind == TOK_WORD ||
		    t.kind == TOK_STRING) && tok_is(&prev1, TOK_PUNCT, "=") &&
		    prev2.kind == TOK_WORD)
			set_global(ct, &prev2, &t);
		if (tok_is(&t, TOK_PUNCT, "{")) {
			if (nest++ == 0 && tok_is(&prev2, TOK_WORD, "pool") &&
			    (prev1.kind == TOK_WORD ||
			    prev1.kind == TOK_STRING) &&
			    add_pool(ct, &prev1, file, t.line) == -1)
				goto done;
		} else if (tok_is(&t, TOK_PUNCT, "}") && nest > 0)
			nest--;
		prev2 = prev1;
		prev1 = t;
	}
	if (emit(ct, mark, (size_t)(end - mark)) == -1)
		goto done;
	rc = 0;
	goto done;
syntax:
	file_warnx(path, t.line, "include: write include = \"pattern\"");
done:
	free(buf);
	return rc;
}

/*
 * Read path and the files it includes into one text for libconfuse;
 * logs "file:line: reason" and returns NULL on error.
 */
struct conf_text *
conf_text_load(const char *path)
{
	struct conf_text	*ct;

	ct = xcalloc(1, sizeof(*ct));
	ct->line = 1;
	ct->buf = xstrdup("");
	ct->size = 1;
	if (expand(ct, path, 0) == -1) {
		conf_text_free(ct);
		return NULL;
	}
	return ct;
}

/* The text, NUL-terminated, and its length in *lenp. */
char *
conf_text_buf(const struct conf_text *ct, size_t *lenp)
{
	*lenp = ct->len;
	return ct->buf;
}

/* The file line of the text is in; *line becomes the line in that file. */
const char *
conf_text_where(const struct conf_text *ct, int line, int *file_line)
{
	const struct conf_seg	*s = NULL;
	size_t			 lo = 0, hi = ct->nsegs, mid;

	/* The last segment starting at or before line. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ct->segs[mid].line <= line)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		*file_line = line;
		return ct->nfiles > 0 ? ct->files[0] : NULL;
	}
	s = &ct->segs[lo - 1];
	*file_line = s->file_line + (line - s->line);
	return ct->files[s->file];
}

/*
 * The value of a global setting (status_listen, pid_file) as written at
 * the top level of the files, unchecked; NULL when it is not set.
 */
const char *
conf_text_global(const struct conf_text *ct, const char *name)
{
	size_t	 i;

	for (i = 0; i < CONF_TEXT_NGLOBALS; i++)
		if (strcmp(name, global_names[i]) == 0)
			return ct->globals[i];
	return NULL;
}

/* Free what conf_text_load() returned; NULL is ignored. */
void
conf_text_free(struct conf_text *ct)
{
	size_t	 i;

	if (ct == NULL)
		return;
	for (i = 0; i < ct->nfiles; i++)
		free(ct->files[i]);
	for (i = 0; i < ct->npools; i++)
		free(ct->pools[i].name);
	for (i = 0; i < CONF_TEXT_NGLOBALS; i++)
		free(ct->globals[i]);
	free(ct->files);
	free(ct->segs);
	free(ct->pools);
	free(ct->buf);
	free(ct);
}
