/*
 * util/error_table.h — header-only: a module's X-macro error table
 * (X(NAME, value, "text")) becomes its strerror and errname functions, the
 * same way in every module. Depends on nothing.
 */
#ifndef RAFTQ_ERROR_TABLE_H
#define RAFTQ_ERROR_TABLE_H

#define ERROR_TABLE_TEXT_(name, value, text) \
	case value:                          \
		return text;
#define ERROR_TABLE_NAME_(name, value, text) \
	case value:                          \
		return #name;

/* Defines `const char *STRERROR(int)` ("unknown error" for a code not in
 * TABLE) and `const char *ERRNAME(int)` (UNKNOWN for one not in TABLE). */
#define ERROR_TABLE_FUNCTIONS(STRERROR, ERRNAME, TABLE, UNKNOWN) \
	const char *STRERROR(int code)                           \
	{                                                        \
		switch (code) {                                  \
			TABLE(ERROR_TABLE_TEXT_)                 \
		}                                                \
		return "unknown error";                          \
	}                                                        \
	const char *ERRNAME(int code)                            \
	{                                                        \
		switch (code) {                                  \
			TABLE(ERROR_TABLE_NAME_)                 \
		}                                                \
		return UNKNOWN;                                  \
	}

#endif
