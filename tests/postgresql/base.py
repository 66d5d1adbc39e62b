"""PostgreSQL for the test suite: Django's backend, with a faster flush.

A transactional test (live server, `transaction=True`) ends with a flush of
every table. Django's is one TRUNCATE of all ~100 tables, which costs
PostgreSQL seconds each time (a new file for every table, index and TOAST
table, and the old ones removed at commit): most of the suite's time on
PostgreSQL. DELETE FROM each table empties the same tables in milliseconds
when they hold a test's few rows. Row triggers (foreign keys, the issued
documents' immutability) are switched off for that transaction only, as
TRUNCATE never fires them either; that takes a superuser, so without one the
flush stays Django's.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences or not self._is_superuser():
            return super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        quote = self.quote_name
        return [
            "SET LOCAL session_replication_role = replica",
            *(f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(quote(table))};" for table in tables),
            "SET LOCAL session_replication_role = DEFAULT",
        ]

    def _is_superuser(self) -> bool:
        if not hasattr(self.connection, "_test_is_superuser"):
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                row = cursor.fetchone()
            self.connection._test_is_superuser = bool(row and row[0])
        return self.connection._test_is_superuser


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
