-- How many took "Learning Git": attempts and distinct users
SELECT count(*) AS assessments, count(DISTINCT user_id) AS users
FROM hive.default.assessments
WHERE exam_name = 'Learning Git'
