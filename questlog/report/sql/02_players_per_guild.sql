-- Distinct players per guild; the first is the most popular guild
SELECT guild, count(DISTINCT user_id) AS players, count(*) AS joins
FROM hive.default.guild_joins
GROUP BY guild
ORDER BY players DESC, guild
