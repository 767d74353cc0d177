-- product_contribution: each line of a product (aggregated: stage, kind, item, factor used) with its
-- share of the total, rounded to whole percent, and whether it is a significant contributor: the
-- largest lines that together make up 80 % of the total, plus any single line of 5 % or more
-- (the report's 'significant links'), with the factor used and why it was chosen (selection_rule). Published, so nothing confidential: no quantities, not the
-- enterprise's own item names, no supplier names (a supplier's own footprint shows as
-- 'supplier-specific', a supplier's product solved here as 'supplier product'); the full line detail stays in the restricted zone (inventory_line_emissions).
with lines as (
    select
        process_id                                                  as product_key,
        line_id,
        coalesce(stage, 'unspecified')                              as stage,
        kind,
        case when match_method = 'supplier_specific' then 'supplier-specific footprint'
             when match_method = 'supplier_product' then 'supplier product footprint (solved in this warehouse)'
             else factor_name end                                  as factor_name,
        case when match_method = 'supplier_product' then null else factor_source_id end as factor_source_id,
        match_method,
        match_precedence,
        case when match_method in ('supplier_specific', 'supplier_product') then null else selection_rule end as selection_rule,
        geography_used,
        geography_fallback,
        co2e_kg,
        co2e_kg / nullif(sum(co2e_kg) over (partition by process_id), 0) as share
    from engine_contributions
),
ranked as (
    select *,
        sum(share) over (partition by product_key order by co2e_kg desc, line_id
                         rows between unbounded preceding and 1 preceding) as share_before
    from lines
)
-- Published, so no per-line CO2e: a line's CO2e divided by its (public) factor would give the enterprise's
-- quantity per declared unit. The share is rounded to whole percent for the same reason; exact values stay
-- in the restricted zone (inventory_line_emissions) for the enterprise's own report and the stewards.
select
    product_key, line_id, stage, kind, factor_name, factor_source_id, match_method, match_precedence, selection_rule,
    geography_used, geography_fallback,
    round(share, 2)                                                as share,
    (coalesce(share_before, 0) < 0.8 or share >= 0.05)             as significant
from ranked
order by product_key, round(share, 2) desc, line_id
