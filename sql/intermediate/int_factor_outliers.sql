-- Cross-source outliers: factors for the same harmonised activity, purpose and reference unit
-- (electricity also per country) that sit more than a factor of 10 from the group median, in groups
-- with at least 3 factors from at least 2 sources. Flagged for a steward, never dropped.
with comparable as (
    select
        factor_id,
        source_id,
        co2e_kg,
        activity_key,
        factor_purpose,
        unit,
        case when activity_category = 'electricity' then geography_country else '*' end as comparison_area
    from factors
    where activity_key is not null and co2e_kg > 0
),
groups as (
    select
        activity_key, factor_purpose, unit, comparison_area,
        median(co2e_kg) as median_co2e_kg,
        count(*) as n_factors,
        count(distinct source_id) as n_sources
    from comparable
    group by all
)
select
    c.factor_id,
    g.median_co2e_kg,
    g.n_factors,
    abs(log10(c.co2e_kg / g.median_co2e_kg)) as log10_distance
from comparable c
join groups g using (activity_key, factor_purpose, unit, comparison_area)
where g.n_factors >= 3
  and g.n_sources >= 2
  and abs(log10(c.co2e_kg / g.median_co2e_kg)) > 1
