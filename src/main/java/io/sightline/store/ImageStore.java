package io.sightline.store;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Mono;

/**
 * Images in PostgreSQL, stored once under the SHA-256 of their bytes (schema: db/migration/V1__init.sql), whichever
 * teams sent them; {@link #find} serves one only to a team that uses it, {@link #bytes} is the worker's unscoped read.
 */
public final class ImageStore {

    private final DatabaseClient db;

    public ImageStore(DatabaseClient db) {
        this.db = db;
    }

    /** Stores the image unless the same bytes are already stored. */
    public Mono<Void> save(ImageRecord image) {
        return db.sql("""
                        INSERT INTO images (sha256, bytes, media_type, width, height)
                        VALUES (:sha256, :bytes, :mediaType, :width, :height)
                        ON CONFLICT (sha256) DO NOTHING""")
                .bind("sha256", image.sha256())
                .bind("bytes", ByteBuffer.wrap(image.bytes()))
                .bind("mediaType", image.mediaType())
                .bind("width", image.width())
                .bind("height", image.height())
                .then();
    }

    /**
     * The image, if a generation or an evaluation item of the caller's {@link TeamScope} uses it; empty otherwise, so
     * that a team cannot learn which images other teams sent.
     */
    public Mono<ImageRecord> find(String sha256) {
        return TeamScope.current().flatMap(scope -> scope.bind(db.sql("""
                                SELECT i.sha256, i.bytes, i.media_type, i.width, i.height FROM images i
                                WHERE i.sha256 = :sha256
                                  AND (EXISTS (SELECT 1 FROM generations g WHERE g.image_sha256 = i.sha256 AND %s)
                                       OR EXISTS (SELECT 1 FROM evaluation_items t JOIN evaluations e ON e.id = t.evaluation_id
                                                  WHERE t.image_sha256 = i.sha256 AND %s))"""
                                .formatted(scope.where("g.team"), scope.where("e.team")))
                        .bind("sha256", sha256))
                .map(row -> new ImageRecord(row.get("sha256", String.class), bytes(row.get("bytes", ByteBuffer.class)),
                        row.get("media_type", String.class), row.get("width", Integer.class),
                        row.get("height", Integer.class)))
                .one());
    }

    /** Encoded bytes by SHA-256, for the given keys that exist. */
    public Mono<Map<String, byte[]>> bytes(Collection<String> sha256s) {
        return db.sql("SELECT sha256, bytes FROM images WHERE sha256 = ANY(:shas)")
                .bind("shas", sha256s.toArray(String[]::new))
                .map(row -> Map.entry(row.get("sha256", String.class), bytes(row.get("bytes", ByteBuffer.class))))
                .all()
                .collect(HashMap::new, (m, e) -> m.put(e.getKey(), e.getValue()));
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }
}
