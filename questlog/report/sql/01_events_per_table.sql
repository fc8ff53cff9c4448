-- Events landed per table (dead letters are the events the pipeline could not parse)
SELECT 'sword_purchases' AS "table", count(*) AS events FROM hive.default.sword_purchases
UNION ALL SELECT 'axe_purchases', count(*) FROM hive.default.axe_purchases
UNION ALL SELECT 'shield_purchases', count(*) FROM hive.default.shield_purchases
UNION ALL SELECT 'guild_joins', count(*) FROM hive.default.guild_joins
UNION ALL SELECT 'war_declarations', count(*) FROM hive.default.war_declarations
UNION ALL SELECT 'peace_declarations', count(*) FROM hive.default.peace_declarations
UNION ALL SELECT 'pilot_enrolments', count(*) FROM hive.default.pilot_enrolments
UNION ALL SELECT 'ship_fittings', count(*) FROM hive.default.ship_fittings
UNION ALL SELECT 'default_events', count(*) FROM hive.default.default_events
UNION ALL SELECT 'sign_ups', count(*) FROM hive.default.sign_ups
UNION ALL SELECT 'dead_letters', count(*) FROM hive.default.dead_letters
ORDER BY events DESC, "table"
