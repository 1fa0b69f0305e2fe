-- Stops the calling script with the error text in :'fail_message'. Every cookbook file sets
-- ON_ERROR_STOP, so psql exits with status 3 and the open transaction is rolled back: nothing changes.
-- Usage:  \set fail_message 'what went wrong'  then  \ir lib/fail.sql
SELECT set_config('geko.fail_message', :'fail_message', false) AS fail_message_set \gset
DO $$ BEGIN RAISE EXCEPTION '%', current_setting('geko.fail_message'); END $$;
