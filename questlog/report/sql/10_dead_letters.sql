-- Dead letters per reason
SELECT reason, count(*) AS records
FROM hive.default.dead_letters
GROUP BY reason
ORDER BY records DESC, reason
LIMIT 10
