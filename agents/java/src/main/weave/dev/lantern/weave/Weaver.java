package dev.lantern.weave;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;
import org.objectweb.asm.tree.AbstractInsnNode;
import org.objectweb.asm.tree.ClassNode;
import org.objectweb.asm.tree.InsnList;
import org.objectweb.asm.tree.InsnNode;
import org.objectweb.asm.tree.IntInsnNode;
import org.objectweb.asm.tree.LabelNode;
import org.objectweb.asm.tree.LdcInsnNode;
import org.objectweb.asm.tree.LineNumberNode;
import org.objectweb.asm.tree.LocalVariableNode;
import org.objectweb.asm.tree.MethodInsnNode;
import org.objectweb.asm.tree.MethodNode;
import org.objectweb.asm.tree.TypeInsnNode;
import org.objectweb.asm.tree.VarInsnNode;

/**
 * Owns rewriting one class file with ASM: it inserts calls to {@code dev.lantern.hook.Hook} at
 * the lines and method entries/exits the agent asks for, and says per request where it went.
 *
 * <p>It runs inside the agent's private class loader (parent: the platform loader), next to its
 * own ASM copy, so its interface to the agent uses JDK types only: {@link #apply} takes the
 * class bytes and one request per string, {@code "POINT\tKIND\tARG\tFILE"}, where KIND is
 * {@code L} (hit with locals at line ARG), {@code B}/{@code F} (begin/end of a timed region at
 * line ARG), {@code M} (hit with the parameters at the entry of the first method named ARG, in
 * class-file order: one point has one list of local names) or
 * {@code D} (begin at entry and end at every exit of the methods named ARG); FILE, when not
 * empty, must equal the class's {@code SourceFile}. It returns the new bytes (null when nothing
 * changed) and one result string per request: {@code "POINT\tok\tMETHOD\tLINE\tNAME:DESC,..."},
 * {@code "POINT\tnone\tWHY"} (not in this class) or {@code "POINT\terr\tWHY"}.
 *
 * <p>Why it inserts what it does: the call goes right after the line's label, before the first
 * instruction, and adds no branch and no local variable, so the stack-map frames stay valid and
 * {@code COMPUTE_MAXS} suffices (no class loading while a class is being defined). Locals come
 * from the LocalVariableTable (those in scope at the line); without one, only the parameters,
 * named {@code arg0}, {@code arg1}..., whose slots and types the descriptor gives for sure.
 */
public final class Weaver implements BiFunction<byte[], String[], Object[]> {
    private static final String HOOK = "dev/lantern/hook/Hook";

    @Override
    public Object[] apply(byte[] bytes, String[] requests) {
        String[] results = new String[requests.length];
        ClassNode cn = new ClassNode();
        try {
            new ClassReader(bytes).accept(cn, 0);
        } catch (RuntimeException e) {
            for (int i = 0; i < requests.length; i++) {
                results[i] = point(requests[i]) + "\terr\t" + describe(e);
            }
            return new Object[] {null, results};
        }
        boolean changed = false;
        for (int i = 0; i < requests.length; i++) {
            String[] r = requests[i].split("\t", -1);
            int point = Integer.parseInt(r[0]);
            char kind = r[1].charAt(0);
            String file = r.length > 3 ? r[3] : "";
            if (!file.isEmpty() && cn.sourceFile != null && !cn.sourceFile.equals(file)) {
                results[i] = point + "\tnone\tsource file is " + cn.sourceFile;
                continue;
            }
            String result;
            if (kind == 'M' || kind == 'D') {
                result = method(cn, point, kind, r[2]);
            } else {
                result = line(cn, point, kind, Integer.parseInt(r[2]));
            }
            changed |= result.contains("\tok\t");
            results[i] = result;
        }
        if (!changed) {
            return new Object[] {null, results};
        }
        try {
            ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_MAXS);
            cn.accept(cw);
            return new Object[] {cw.toByteArray(), results};
        } catch (RuntimeException e) {
            for (int i = 0; i < requests.length; i++) {
                results[i] = point(requests[i]) + "\terr\t" + describe(e);
            }
            return new Object[] {null, results};
        }
    }

    private static String point(String request) {
        int tab = request.indexOf('\t');
        return tab < 0 ? request : request.substring(0, tab);
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return (m == null ? t.getClass().getSimpleName() : m).replace('\t', ' ').replace('\n', ' ');
    }

    private static boolean hasCode(MethodNode m) {
        return (m.access & (Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) == 0 && m.instructions.size() > 0;
    }

    private static String line(ClassNode cn, int point, char kind, int line) {
        MethodNode best = null;
        LineNumberNode where = null;
        for (MethodNode m : cn.methods) {
            if (!hasCode(m)) {
                continue;
            }
            for (AbstractInsnNode n = m.instructions.getFirst(); n != null; n = n.getNext()) {
                if (n instanceof LineNumberNode && ((LineNumberNode) n).line == line) {
                    // A line shared by a method and a lambda inside it: the method wins.
                    boolean synthetic = (m.access & Opcodes.ACC_SYNTHETIC) != 0;
                    if (best == null || (!synthetic && (best.access & Opcodes.ACC_SYNTHETIC) != 0)) {
                        best = m;
                        where = (LineNumberNode) n;
                    }
                    break;
                }
            }
        }
        if (best == null) {
            return point + "\tnone\tno code at line " + line;
        }
        AbstractInsnNode at = firstInstruction(where);
        if (at == null) {
            return point + "\tnone\tno code at line " + line;
        }
        InsnList call;
        String locals = "";
        if (kind == 'L') {
            List<LocalVariableNode> vars = inScope(best, where.start);
            call = hitCall(best, point, vars);
            locals = describeLocals(vars);
        } else {
            call = timeCall(point, kind == 'B' ? "begin" : "end");
        }
        best.instructions.insertBefore(at, call);
        return point + "\tok\t" + best.name + "\t" + line + "\t" + locals;
    }

    private static String method(ClassNode cn, int point, char kind, String name) {
        boolean found = false;
        String locals = "";
        for (MethodNode m : cn.methods) {
            if (!m.name.equals(name) || !hasCode(m)) {
                continue;
            }
            if (kind == 'M') {
                if (found) {
                    // One point has one list of local names: only the first overload gets it.
                    break;
                }
                // Named before the insertion: afterwards the parameters' labels no longer come first.
                List<LocalVariableNode> params = parameters(m);
                locals = describeLocals(params);
                m.instructions.insert(hitCall(m, point, params));
            } else {
                for (AbstractInsnNode n = m.instructions.getFirst(); n != null; n = n.getNext()) {
                    int op = n.getOpcode();
                    if ((op >= Opcodes.IRETURN && op <= Opcodes.RETURN) || op == Opcodes.ATHROW) {
                        m.instructions.insertBefore(n, timeCall(point, "end"));
                    }
                }
                m.instructions.insert(timeCall(point, "begin"));
            }
            found = true;
        }
        if (!found) {
            return point + "\tnone\tno method " + name;
        }
        return point + "\tok\t" + name + "\t0\t" + locals;
    }

    /** The first real instruction at or after a line's label (labels, lines and frames skipped). */
    private static AbstractInsnNode firstInstruction(LineNumberNode line) {
        for (AbstractInsnNode n = line.start; n != null; n = n.getNext()) {
            if (n.getOpcode() >= 0) {
                return n;
            }
        }
        return null;
    }

    /** Local variables in scope at {@code label}, without {@code this}. */
    private static List<LocalVariableNode> inScope(MethodNode m, LabelNode label) {
        List<LocalVariableNode> out = new ArrayList<>();
        if (m.localVariables == null || m.localVariables.isEmpty()) {
            return parameters(m);
        }
        int at = m.instructions.indexOf(label);
        boolean isStatic = (m.access & Opcodes.ACC_STATIC) != 0;
        for (LocalVariableNode v : m.localVariables) {
            if (!isStatic && v.index == 0) {
                continue;
            }
            int start = m.instructions.indexOf(v.start);
            int end = m.instructions.indexOf(v.end);
            if (start <= at && at < end) {
                out.add(v);
            }
        }
        return out;
    }

    /** The parameters, named from the LocalVariableTable when there is one, else arg0, arg1... */
    private static List<LocalVariableNode> parameters(MethodNode m) {
        List<LocalVariableNode> out = new ArrayList<>();
        boolean isStatic = (m.access & Opcodes.ACC_STATIC) != 0;
        int slot = isStatic ? 0 : 1;
        Type[] args = Type.getArgumentTypes(m.desc);
        for (int i = 0; i < args.length; i++) {
            String name = "arg" + i;
            if (m.localVariables != null) {
                for (LocalVariableNode v : m.localVariables) {
                    if (v.index == slot && m.instructions.indexOf(v.start) <= firstIndex(m)) {
                        name = v.name;
                    }
                }
            }
            out.add(new LocalVariableNode(name, args[i].getDescriptor(), null, null, null, slot));
            slot += args[i].getSize();
        }
        return out;
    }

    private static int firstIndex(MethodNode m) {
        for (AbstractInsnNode n = m.instructions.getFirst(); n != null; n = n.getNext()) {
            if (n.getOpcode() >= 0) {
                return m.instructions.indexOf(n);
            }
        }
        return 0;
    }

    private static String describeLocals(List<LocalVariableNode> vars) {
        StringBuilder b = new StringBuilder();
        for (LocalVariableNode v : vars) {
            if (b.length() > 0) {
                b.append(',');
            }
            b.append(v.name).append(':').append(v.desc);
        }
        return b.toString();
    }

    private static InsnList hitCall(MethodNode m, int point, List<LocalVariableNode> vars) {
        InsnList il = new InsnList();
        il.add(intConst(point));
        boolean hasThis = (m.access & Opcodes.ACC_STATIC) == 0 && !"<init>".equals(m.name);
        // A constructor's this is not initialized before super(): never pass it.
        il.add(hasThis ? new VarInsnNode(Opcodes.ALOAD, 0) : new InsnNode(Opcodes.ACONST_NULL));
        il.add(intConst(vars.size()));
        il.add(new TypeInsnNode(Opcodes.ANEWARRAY, "java/lang/Object"));
        for (int i = 0; i < vars.size(); i++) {
            LocalVariableNode v = vars.get(i);
            il.add(new InsnNode(Opcodes.DUP));
            il.add(intConst(i));
            load(il, v.desc, v.index);
            il.add(new InsnNode(Opcodes.AASTORE));
        }
        il.add(new MethodInsnNode(Opcodes.INVOKESTATIC, HOOK, "hit", "(ILjava/lang/Object;[Ljava/lang/Object;)V", false));
        return il;
    }

    private static InsnList timeCall(int point, String which) {
        InsnList il = new InsnList();
        il.add(intConst(point));
        il.add(new MethodInsnNode(Opcodes.INVOKESTATIC, HOOK, which, "(I)V", false));
        return il;
    }

    private static void load(InsnList il, String desc, int slot) {
        switch (desc.charAt(0)) {
            case 'Z': box(il, Opcodes.ILOAD, slot, "java/lang/Boolean", "Z"); break;
            case 'B': box(il, Opcodes.ILOAD, slot, "java/lang/Byte", "B"); break;
            case 'C': box(il, Opcodes.ILOAD, slot, "java/lang/Character", "C"); break;
            case 'S': box(il, Opcodes.ILOAD, slot, "java/lang/Short", "S"); break;
            case 'I': box(il, Opcodes.ILOAD, slot, "java/lang/Integer", "I"); break;
            case 'J': box(il, Opcodes.LLOAD, slot, "java/lang/Long", "J"); break;
            case 'F': box(il, Opcodes.FLOAD, slot, "java/lang/Float", "F"); break;
            case 'D': box(il, Opcodes.DLOAD, slot, "java/lang/Double", "D"); break;
            default: il.add(new VarInsnNode(Opcodes.ALOAD, slot));
        }
    }

    private static void box(InsnList il, int load, int slot, String owner, String prim) {
        il.add(new VarInsnNode(load, slot));
        il.add(new MethodInsnNode(Opcodes.INVOKESTATIC, owner, "valueOf", "(" + prim + ")L" + owner + ";", false));
    }

    private static AbstractInsnNode intConst(int v) {
        if (v >= -1 && v <= 5) {
            return new InsnNode(Opcodes.ICONST_0 + v);
        }
        if (v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE) {
            return new IntInsnNode(Opcodes.BIPUSH, v);
        }
        if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
            return new IntInsnNode(Opcodes.SIPUSH, v);
        }
        return new LdcInsnNode(v);
    }
}
