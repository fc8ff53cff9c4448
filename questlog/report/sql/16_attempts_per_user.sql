-- Attempts per user: how many users took each number of assessments
SELECT attempts, count(*) AS users
FROM (
    SELECT user_id, count(*) AS attempts
    FROM hive.default.assessments
    WHERE user_id IS NOT NULL
    GROUP BY user_id
)
GROUP BY attempts
ORDER BY attempts
