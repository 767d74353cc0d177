-- Stable factor ids: 'F' + the first 20 hex digits of MD5 (an identifier, not a security hash; 80 bits: no collision at warehouse scale, and the catalogue checks uniqueness) over source_id, a unit separator and
-- the publisher's natural key. The value is deliberately not part of the id, so a new edition of a
-- source shows up as a change to the same factor in `pcf diff`.
-- Reads only the two key columns (row order is preserved) so that wide frames need not cross over.
select
    'F' || substr(md5(source_id || chr(31) || natural_key), 1, 20) as factor_id
from passed
