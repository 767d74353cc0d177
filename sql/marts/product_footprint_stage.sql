-- product_footprint_stage: CO2e per declared unit by life-cycle stage (GB/T 24067 stages), with the share
-- of the total. Stages come from the enterprise's lines; upstream burdens sit in the stage of the line
-- that brings them in.
select
    process_id                                            as product_key,
    coalesce(stage, 'unspecified')                        as stage,
    round(sum(co2e_kg), 9)                                as co2e_kg,
    round(sum(co2e_kg) / nullif(sum(sum(co2e_kg)) over (partition by process_id), 0), 6) as share
from engine_contributions
group by process_id, coalesce(stage, 'unspecified')
order by product_key, stage
