-- The ten most common exams; the first is the most common
SELECT exam_name, count(*) AS assessments, count(DISTINCT user_id) AS users
FROM hive.default.assessments
GROUP BY exam_name
ORDER BY assessments DESC, exam_name
LIMIT 10
