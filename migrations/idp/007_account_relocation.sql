-- Relocation: an account's home can move to another OP. While the move runs the account is
-- `moving` (usable nowhere, so no duplicate exists at any moment); afterwards the old home keeps
-- the row as `moved` with the new home, and sends logins there. The new home notes where it came from.
ALTER TABLE natural_persons DROP CONSTRAINT natural_persons_status_check;
ALTER TABLE natural_persons ADD CONSTRAINT natural_persons_status_check CHECK (status IN ('active', 'disabled', 'moving', 'moved'));
ALTER TABLE natural_persons ADD COLUMN moved_to text;
ALTER TABLE natural_persons ADD COLUMN moved_from text;
