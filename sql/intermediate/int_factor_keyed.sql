-- Stable factor ids: 'F' + the first 20 hex digits of MD5 (an identifier, not a security hash; 80 bits: no collision at warehouse scale, and the catalogue checks uniqueness) over source_id, a unit separator and
-- the publisher's natural key. The value is deliberately not part of the id, so a new edition of a
-- source shows up as a change to the same factor in `pcf diff`.
-- Reads only the two key columns (row order is preserved) so that wide frames need not cross over.
-- series_id: the same measured thing across reference years (source, activity, geography, unit, purpose), so
-- that a new year of a series is shown as its next value.
select
    'F' || substr(md5(source_id || chr(31) || natural_key), 1, 20) as factor_id,
    'S' || substr(md5(concat_ws(chr(31), source_id, coalesce(activity_key, classification_code, name_en, name_zh, natural_key),
                                coalesce(geography_code, ''), coalesce(unit, ''), coalesce(factor_purpose, ''))), 1, 20) as series_id
from passed
