-- Events per host the players reached (the Host header, as the original projects kept it)
SELECT host, count(*) AS events
FROM (
    SELECT host FROM hive.default.sword_purchases
    UNION ALL SELECT host FROM hive.default.axe_purchases
    UNION ALL SELECT host FROM hive.default.shield_purchases
    UNION ALL SELECT host FROM hive.default.guild_joins
    UNION ALL SELECT host FROM hive.default.war_declarations
    UNION ALL SELECT host FROM hive.default.peace_declarations
    UNION ALL SELECT host FROM hive.default.pilot_enrolments
    UNION ALL SELECT host FROM hive.default.ship_fittings
    UNION ALL SELECT host FROM hive.default.default_events
)
GROUP BY host
ORDER BY events DESC, host
