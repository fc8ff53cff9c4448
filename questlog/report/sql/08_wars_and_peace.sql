-- Wars and peace declared by each guild
SELECT
    guild,
    count_if(kind = 'war') AS wars_declared,
    count_if(kind = 'peace') AS peace_declared
FROM (
    SELECT guild, 'war' AS kind FROM hive.default.war_declarations
    UNION ALL
    SELECT guild, 'peace' FROM hive.default.peace_declarations
)
GROUP BY guild
ORDER BY wars_declared DESC, guild
